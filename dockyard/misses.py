"""Why a step re-ran: each step that missed the cache, compared with the last good build.

The reasons compare the ledger's record of that build (its steps, context fingerprint, build
args, base image id) with this build's: a changed file a `COPY` reads, a changed build arg, a
new base image, an earlier step that re-ran, or a new instruction.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.dockerignore import Pattern, go_clean
from dockyard.fingerprint import ContextFingerprint, FileChange, diff_fingerprints

if TYPE_CHECKING:
    from dockyard.progress import BuildReport


# Said once per service of a first build (and per step in JSON, where each step has a reason).
NO_EARLIER_BUILD = "no earlier build to compare with"


def nothing_to_compare(previous_steps: Sequence[object] | None) -> bool:
    """No earlier build's steps: every step that ran is new, for the same reason."""
    return not previous_steps


@dataclass(frozen=True)
class StepRecord:
    """What the ledger keeps of one Dockerfile step of one build (JSON-friendly).

    Make them from `dockyard.progress.Step`: `StepRecord(step.stage, step.instruction,
    step.cached)`, in build order (`BuildReport.dockerfile_steps`).
    """

    stage: str | None
    instruction: str
    cached: bool

    @property
    def key(self) -> str:
        return step_key(self.stage, self.instruction)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "instruction": self.instruction, "cached": self.cached}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        stage = data.get("stage")
        return cls(
            stage=str(stage) if stage is not None else None,
            instruction=str(data.get("instruction", "")),
            cached=bool(data.get("cached", False)),
        )


def records_from_report(report: BuildReport) -> list[StepRecord]:
    """A service's Dockerfile steps (in build order) as StepRecords for the ledger."""
    return [StepRecord(s.stage, s.instruction, s.cached) for s in report.dockerfile_steps]


def step_key(stage: str | None, instruction: str) -> str:
    """How a step is identified across builds: stage plus instruction text."""
    return f"[{stage}] {instruction}" if stage else instruction


@dataclass(frozen=True)
class _Copy:
    sources: tuple[str, ...]
    from_stage: str | None
    heredoc: bool = False


def _parse_copy(instruction: str) -> _Copy | None:
    keyword, _, rest = instruction.strip().partition(" ")
    if keyword.upper() not in ("COPY", "ADD"):
        return None
    rest = rest.strip()
    if "<<" in rest:
        return _Copy((), None, heredoc=True)
    from_stage: str | None = None
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        rest = rest.strip()
        if flag.startswith("--from="):
            from_stage = flag.split("=", 1)[1]
    args: list[str] = []
    if rest.startswith("["):
        try:
            args = [str(a) for a in json.loads(rest)]
        except ValueError:
            args = []
    if not args:
        try:
            args = shlex.split(rest, posix=True)
        except ValueError:
            args = rest.split()
    sources = tuple(args[:-1]) if len(args) > 1 else ()
    return _Copy(sources, from_stage)


def copy_sources(instruction: str) -> tuple[str, ...] | None:
    """Context paths a COPY/ADD reads (`.` = all); None when it reads none from the context
    (not COPY/ADD, `--from=`, heredoc, URLs)."""
    parsed = _parse_copy(instruction)
    if parsed is None or parsed.from_stage is not None or parsed.heredoc:
        return None
    local = tuple(src for src in parsed.sources if "://" not in src and not src.startswith("git@"))
    return local or None


def _source_matches(source: str, path: str) -> bool:
    src = go_clean(source.lstrip("/"))
    if src in (".", ""):
        return True
    matcher = Pattern(src, False)
    parts = path.split("/")
    return any(matcher.match("/".join(parts[: i + 1])) for i in range(len(parts)))


def _names(changes: Sequence[FileChange], limit: int = 3) -> str:
    shown = [c.describe() for c in changes[:limit]]
    text = ", ".join(shown)
    if len(changes) > limit:
        text += f" and {len(changes) - limit} more"
    return text


def explain_misses(
    steps: Sequence[StepRecord],
    previous_steps: Sequence[StepRecord] | None,
    old_fingerprint: ContextFingerprint | None = None,
    new_fingerprint: ContextFingerprint | None = None,
    old_build_args: Mapping[str, str] | None = None,
    new_build_args: Mapping[str, str] | None = None,
    old_base_digest: str | None = None,
    new_base_digest: str | None = None,
) -> dict[str, str]:
    """For every step that ran (not from cache), one line saying why.

    `steps` and `previous_steps` are one service's Dockerfile steps in build order. The
    reason for a step, first that applies: no earlier build; the instruction is new; an earlier
    step of its stage re-ran (named); the base image digest changed; for `COPY`/`ADD`, the
    files it reads changed (up to 3 named, with line counts); for `COPY --from=X`, stage X
    re-ran; a build arg changed; otherwise the cache was simply not there (pruned, another
    builder). `FROM` steps are left out unless the base digest changed.
    """
    reasons: dict[str, str] = {}
    previous = list(previous_steps or [])
    by_key = {s.key: s for s in previous}
    by_instruction = {s.instruction: s for s in previous}
    changes = diff_fingerprints(old_fingerprint, new_fingerprint)
    context_changed = (
        old_fingerprint is not None
        and new_fingerprint is not None
        and old_fingerprint.digest != new_fingerprint.digest
    )
    old_args, new_args = dict(old_build_args or {}), dict(new_build_args or {})
    changed_args = sorted(
        k for k in set(old_args) | set(new_args) if old_args.get(k) != new_args.get(k)
    )
    base_changed = bool(old_base_digest and new_base_digest and old_base_digest != new_base_digest)
    last_rerun_in_stage: dict[str | None, StepRecord] = {}
    rerun_stages: dict[str, StepRecord] = {}

    for step in steps:
        is_from = step.instruction.upper().startswith("FROM ")
        if step.cached:
            continue
        quoted = f"`{step.instruction}`"
        reason: str
        if is_from:
            if base_changed:
                reasons[step.key] = (
                    f"{quoted} re-ran because the base image digest changed "
                    f"({_short(old_base_digest)} -> {_short(new_base_digest)})"
                )
            continue
        earlier = last_rerun_in_stage.get(step.stage)
        if not previous:
            reason = f"{quoted} ran: {NO_EARLIER_BUILD}"
        elif step.key not in by_key and step.instruction not in by_instruction:
            reason = f"{quoted} ran: the instruction is new or changed since the last build"
        elif earlier is not None:
            reason = f"{quoted} re-ran because an earlier step re-ran: `{earlier.instruction}`"
        elif base_changed:
            reason = (
                f"{quoted} re-ran because the base image digest changed "
                f"({_short(old_base_digest)} -> {_short(new_base_digest)})"
            )
        else:
            reason = _own_reason(
                step,
                quoted,
                changes,
                context_changed,
                changed_args,
                rerun_stages,
                old_args,
                new_args,
            )
        reasons[step.key] = reason
        last_rerun_in_stage[step.stage] = step
        if step.stage:
            rerun_stages[step.stage] = step
    return reasons


def _own_reason(
    step: StepRecord,
    quoted: str,
    changes: Sequence[FileChange],
    context_changed: bool,
    changed_args: Sequence[str],
    rerun_stages: Mapping[str, StepRecord],
    old_args: Mapping[str, str],
    new_args: Mapping[str, str],
) -> str:
    parsed = _parse_copy(step.instruction)
    if parsed is not None and parsed.from_stage is not None:
        source = rerun_stages.get(parsed.from_stage)
        if source is not None:
            return (
                f"{quoted} re-ran because stage `{parsed.from_stage}` changed "
                f"(`{source.instruction}` re-ran)"
            )
    sources = copy_sources(step.instruction)
    if sources is not None:
        touched = [c for c in changes if any(_source_matches(s, c.path) for s in sources)]
        if touched:
            return f"{quoted} re-ran because {_names(touched)}"
        if context_changed and not changes:
            return f"{quoted} re-ran because the build context changed"
    if changed_args:
        described = ", ".join(
            f"`{name}` ({_arg_value(old_args.get(name))} -> {_arg_value(new_args.get(name))})"
            for name in changed_args[:3]
        )
        plural = "s" if len(changed_args) > 1 else ""
        return f"{quoted} re-ran because build arg{plural} {described} changed"
    return (
        f"{quoted} re-ran though no input changed that dockyard tracks "
        "(build cache pruned, or built by another builder)"
    )


def _arg_value(value: str | None) -> str:
    if value is None:
        return "unset"
    return "set" if value else "empty"


def _short(digest: str | None) -> str:
    if not digest:
        return "?"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:12]
