"""Build timings over time: a service's recent builds from the ledger, compared and trended."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.ledger import Ledger, ServiceBuild


@dataclass(frozen=True)
class Comparison:
    """One service's newest build against the builds before it."""

    service: str
    current: ServiceBuild
    earlier: list[ServiceBuild]  # newest first, successful builds only

    @property
    def median_seconds(self) -> float | None:
        values = [b.seconds for b in self.earlier if b.seconds is not None]
        return statistics.median(values) if values else None

    @property
    def change(self) -> float | None:
        """Seconds of the current build minus the median of the earlier ones."""
        median = self.median_seconds
        if median is None or self.current.seconds is None:
            return None
        return self.current.seconds - median

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "current": self.current.to_dict(),
            "median_seconds_before": self.median_seconds,
            "change_seconds": self.change,
            "earlier": [b.to_dict() for b in self.earlier],
        }


def compare(
    ledger: Ledger, project: str, build_id: int, services: Sequence[str], last: int = 5
) -> list[Comparison]:
    """Each service of build `build_id` against the `last` successful builds before it."""
    comparisons = []
    current = {
        b.service: b
        for b in ledger.service_builds(services=services, project=project, last=len(services) * 4)
        if b.build_id == build_id
    }
    for service in services:
        if service not in current:
            continue
        earlier = ledger.service_builds(
            services=[service], project=project, last=last, status="ok", before_build=build_id
        )
        comparisons.append(Comparison(service, current[service], earlier))
    return comparisons


def history(
    ledger: Ledger, project: str, services: Sequence[str] = (), last: int = 20
) -> list[ServiceBuild]:
    """The `last` service builds of the project (all outcomes), oldest first for a trend."""
    return list(reversed(ledger.service_builds(services=services, project=project, last=last)))
