"""The CI gate of `inspect-layers`: rules from flags and settings, PASS / WARN / FAIL per rule.

It checks what the user can change (the efficiency and waste of the layers above the base) and
the image size; README "The CI gate".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dockyard.errors import DockyardError
from dockyard.image.size import budget_for
from dockyard.settings import Settings, is_off, parse_ratio_setting, parse_size_setting
from dockyard.units import format_size

if TYPE_CHECKING:
    from dockyard.image.analysis import ImageAnalysis
    from dockyard.image.targets import ImageTarget

GateStatus = Literal["PASS", "WARN", "FAIL"]


class GateFailed(DockyardError):
    """`inspect-layers --ci`: at least one rule ended FAIL."""


@dataclass(frozen=True)
class GateRules:
    """Limits for `--ci`; None leaves a rule out. `warn_ratio`: see `evaluate_gate`."""

    min_efficiency: float | None = None
    max_wasted_bytes: int | None = None
    max_size: int | None = None
    warn_ratio: float = 0.1

    @property
    def empty(self) -> bool:
        return (
            self.min_efficiency is None and self.max_wasted_bytes is None and self.max_size is None
        )


@dataclass(frozen=True)
class GateResult:
    """One rule's verdict with a one-line reason; `value` and `limit` in the rule's unit."""

    rule: str
    status: GateStatus
    reason: str
    value: float
    limit: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GateRulesChoice:
    """The rules, and where the size limit came from (a flag, a budget setting, none)."""

    rules: GateRules
    size_source: str = ""


def gate_rules(
    settings: Settings,
    target: ImageTarget,
    *,
    min_efficiency: str = "",
    max_wasted: str = "",
    max_size: str = "",
) -> GateRulesChoice:
    """The rules `inspect-layers` applies: each flag replaces its setting ("off" drops a rule)."""

    efficiency = settings.min_efficiency
    if min_efficiency:
        efficiency = (
            None
            if is_off(min_efficiency)
            else parse_ratio_setting(min_efficiency, "--min-efficiency")
        )
    wasted = settings.max_wasted
    if max_wasted:
        wasted = None if is_off(max_wasted) else parse_size_setting(max_wasted, "--max-wasted")
    if max_size and is_off(max_size):
        size: int | None
        size, source = None, ""
    else:
        size, source = budget_for(settings, target, max_size)
    return GateRulesChoice(
        GateRules(min_efficiency=efficiency, max_wasted_bytes=wasted, max_size=size),
        size_source=source,
    )


def evaluate_gate(
    analysis: ImageAnalysis, rules: GateRules, image_size: int | None = None
) -> list[GateResult]:
    """Check the analysis against the rules; one result per rule that is set, in a fixed order.

    * `min_efficiency` checks the *user* efficiency (the base image is not the user's doing).
    * `max_wasted_bytes` checks the *user* wasted bytes.
    * `max_size` checks `image_size` (e.g. `docker image inspect` Size) or, if None, the bytes
      stored in all layers.
    FAIL: beyond the limit. WARN: within the limit but more than (1 - warn_ratio) of the allowance
    used, i.e. by default within 10% of the limit: wasted bytes or size above 90% of the maximum,
    or, for efficiency, inefficiency (1 - efficiency) above 90% of the allowed 1 - minimum
    (minimum 90% -> WARN below 91%). PASS otherwise.
    """
    keep = 1.0 - rules.warn_ratio
    results: list[GateResult] = []
    if rules.min_efficiency is not None:
        value = analysis.user_efficiency
        limit = rules.min_efficiency
        shown = f"user efficiency {value:.1%}"
        if value < limit:
            results.append(
                GateResult("min_efficiency", "FAIL", f"{shown} < minimum {limit:.1%}", value, limit)
            )
        elif 1.0 - value > (1.0 - limit) * keep:
            reason = f"{shown} is within {rules.warn_ratio:.0%} of the minimum {limit:.1%}"
            results.append(GateResult("min_efficiency", "WARN", reason, value, limit))
        else:
            results.append(
                GateResult(
                    "min_efficiency", "PASS", f"{shown} >= minimum {limit:.1%}", value, limit
                )
            )
    if rules.max_wasted_bytes is not None:
        results.append(
            _max_rule(
                "max_wasted_bytes",
                "user wasted bytes",
                analysis.user_wasted_bytes,
                rules.max_wasted_bytes,
                keep,
                rules.warn_ratio,
            )
        )
    if rules.max_size is not None:
        size = analysis.total_bytes if image_size is None else image_size
        results.append(
            _max_rule("max_size", "image size", size, rules.max_size, keep, rules.warn_ratio)
        )
    return results


def _max_rule(
    rule: str, what: str, value: int, limit: int, keep: float, ratio: float
) -> GateResult:
    shown = f"{what} {format_size(value)} ({value} B)"
    if value > limit:
        return GateResult(rule, "FAIL", f"{shown} > limit {format_size(limit)}", value, limit)
    if value > limit * keep:
        reason = f"{shown} is within {ratio:.0%} of the limit {format_size(limit)}"
        return GateResult(rule, "WARN", reason, value, limit)
    return GateResult(rule, "PASS", f"{shown} <= limit {format_size(limit)}", value, limit)


def gate_status(results: Iterable[GateResult]) -> GateStatus:
    """The worst status (FAIL > WARN > PASS); PASS when there are no results."""
    statuses = {result.status for result in results}
    if "FAIL" in statuses:
        return "FAIL"
    return "WARN" if "WARN" in statuses else "PASS"


def gate_failure(label: str, results: Sequence[GateResult]) -> GateFailed | None:
    """The error `--ci` ends with when a rule FAILed (the first one's reason), else None."""
    failed = [result for result in results if result.status == "FAIL"]
    if not failed:
        return None
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return GateFailed(
        f"layer gate FAIL for {label}: {failed[0].reason}{more}",
        "see the most wasteful paths above; limits: --min-efficiency, --max-wasted, "
        "--max-size or DOCKYARD_MIN_EFFICIENCY, DOCKYARD_MAX_WASTED, DOCKYARD_MAX_IMAGE_SIZE",
    )
