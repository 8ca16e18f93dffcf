"""What every service check shares: a result in the service's scope, and the SKIP for a
Dockerfile that cannot be read."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.doctor.facts import ServiceFacts
from dockyard.doctor.report import SKIP, CheckResult, Verdict


def service_result(
    svc: ServiceFacts,
    check_id: str,
    status: Verdict,
    reason: str,
    fix: str = "",
    details: Iterable[str] = (),
) -> CheckResult:
    return CheckResult(check_id, status, reason, fix, scope=svc.scope, details=tuple(details))


def unreadable(svc: ServiceFacts, check_id: str) -> CheckResult:
    """SKIP for a check that reads the Dockerfile when there is none, or it does not parse."""
    if svc.dockerfile_bytes is None:
        return service_result(svc, check_id, SKIP, "no Dockerfile to read")
    return service_result(svc, check_id, SKIP, "the Dockerfile does not parse")
