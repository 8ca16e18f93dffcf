"""The doctor's verdicts: one `CheckResult` per check, gathered in a `Report`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

Verdict = Literal["PASS", "WARN", "FAIL", "SKIP"]
PASS: Verdict = "PASS"
WARN: Verdict = "WARN"
FAIL: Verdict = "FAIL"
SKIP: Verdict = "SKIP"  # the check cannot run (no engine, no Dockerfile, remote context)

if TYPE_CHECKING:
    from dockyard.engine.stackinfo import StackInfo


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: `reason` says what was seen, `fix` what to do about it."""

    id: str
    status: Verdict
    reason: str
    fix: str = ""
    scope: str = "environment"  # "environment", "project", or "service <name>"
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "status": self.status,
            "reason": self.reason,
            "fix": self.fix or None,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]
    stack: StackInfo | None = None  # the Docker the checks ran against, for --json

    def count(self, status: Verdict) -> int:
        return sum(1 for check in self.checks if check.status == status)

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def by_scope(self) -> list[tuple[str, list[CheckResult]]]:
        groups: dict[str, list[CheckResult]] = {}
        for check in self.checks:
            groups.setdefault(check.scope, []).append(check)
        return list(groups.items())

    def get(self, check_id: str, scope: str | None = None) -> CheckResult:
        for check in self.checks:
            if check.id == check_id and (scope is None or check.scope == scope):
                return check
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": {s.lower(): self.count(s) for s in (PASS, WARN, FAIL, SKIP)},
            "stack": self.stack.to_dict() if self.stack is not None else None,
            "checks": [check.to_dict() for check in self.checks],
        }
