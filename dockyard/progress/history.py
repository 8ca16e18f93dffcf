"""Step data after the fact, from the build records buildx keeps (`buildx history`, 0.23+).

Used when a build's live stream named no steps of a service (e.g. a progress mode that
replaced the raw stream): each record of the build says which Compose service it built (the
`com.docker.compose.service` label Compose sets), and its log replays that build's vertices as
a raw stream of one target, whose steps carry no service prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from dockyard.progress.report import BuildReport
from dockyard.progress.stream import reports_from_stream

SERVICE_LABEL = "com.docker.compose.service"
PROJECT_LABEL = "com.docker.compose.project"


def record_ref(record: Mapping[str, Any]) -> str:
    """`default/default/<id>` -> `<id>`, what `history inspect` and `history logs` take."""
    return str(record.get("ref") or "").rsplit("/", 1)[-1]


def labels(inspect: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(item.get("Name")): str(item.get("Value"))
        for item in inspect.get("Labels") or ()
        if isinstance(item, Mapping)
    }


def service_of(inspect: Mapping[str, Any], project: str) -> str | None:
    """The Compose service a record built, when it belongs to `project`."""
    found = labels(inspect)
    if found.get(PROJECT_LABEL) != project:
        return None
    return found.get(SERVICE_LABEL) or None


def wanted_records(
    records: Iterable[Mapping[str, Any]],
    inspect: Callable[[str], Mapping[str, Any]],
    project: str,
    services: Collection[str],
) -> dict[str, str]:
    """service -> record ref, for the newest record of each wanted service of `project`.

    `inspect(ref)` reads one record (a callable, so only the candidates are read).
    """
    found: dict[str, str] = {}
    for record in records:  # newest first, as `history ls` lists them
        ref = record_ref(record)
        if not ref:
            continue
        service = service_of(inspect(ref), project)
        if service is not None and service in services and service not in found:
            found[service] = ref
    return found


def replay(logs: bytes, service: str, returncode: int) -> BuildReport:
    """The service's report from a record's replayed stream (one target: no prefixes)."""
    return reports_from_stream(
        logs, returncode=returncode, service_names=[service], default_service=service
    )[service]
