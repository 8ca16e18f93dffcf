"""Compose-project checks, and how a compose file that cannot be read is reported."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.doctor.checks import evaluate
from dockyard.doctor.checks.project import check_db_ports
from dockyard.doctor.facts import EnvironmentFacts, Facts, ProjectFacts
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN
from tests.unit.doctor.helpers import GOOD_ENV, LIMITS, model


@pytest.mark.parametrize(
    ("port", "image", "status"),
    [
        ({"target": 5432, "published": "5432"}, "postgres:16", WARN),
        ({"target": 5432, "published": "5432", "host_ip": "0.0.0.0"}, "postgres:16", WARN),
        ({"target": 5432, "published": "5432", "host_ip": "127.0.0.1"}, "postgres:16", PASS),
        ({"target": 6379, "published": "6379"}, "my/cache:1", WARN),  # by port
        ({"target": 8000, "published": "8000"}, "my/api:1", PASS),
    ],
)
def test_db_ports(port: dict[str, Any], image: str, status: str) -> None:
    project = ProjectFacts("p", services=model({"db": {"image": image, "ports": [port]}}))
    assert check_db_ports(project).status == status


def test_compose_error_is_one_fail() -> None:
    facts = Facts(
        GOOD_ENV,
        ProjectFacts(error="compose file not found: /x/compose.yml", error_hint="set COMPOSE_FILE"),
    )
    report = evaluate(facts, LIMITS)
    assert [(c.id, c.status) for c in report.checks if c.scope == "project"] == [
        ("compose-file", FAIL),
        ("db-port-public", SKIP),
        ("team-cache", SKIP),
    ]
    assert not report.ok


def test_unread_compose_file_is_skipped_not_failed() -> None:
    facts = Facts(EnvironmentFacts(), ProjectFacts(unread="needs the docker binary"))
    report = evaluate(facts, LIMITS)
    assert [(c.id, c.status) for c in report.checks if c.scope == "project"] == [
        ("compose-file", SKIP),
        ("db-port-public", SKIP),
        ("team-cache", SKIP),
    ]
    assert [c.id for c in report.failed] == ["docker-binary"]
