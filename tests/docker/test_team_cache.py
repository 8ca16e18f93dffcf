"""The team cache on real engines and a real registry (tests/teambed.py).

On each stack a build with `--push-cache` exports its cache (debian13, classic store: inline
cache in a pushed image; sid, containerd store: type=registry,mode=max), then the third engine
(a fresh machine with an empty build cache, reached over TCP with TLS) builds the same project
from the team cache alone and gets every step CACHED. The faults (registry down, push refused,
a password in the login store) are README "Bad input" rows: tests/docker/test_bad_input.py
runs them from tests/docker/teamcache_cases.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.ledger import Ledger
from tests.conftest import DockerStack
from tests.docker.helpers import Project, image_store, steps_of, unique
from tests.docker.teamcache_cases import team_project
from tests.teambed import Registry, TlsEngine

pytestmark = pytest.mark.docker


@pytest.fixture
def project(tmp_path: Path, docker_stack: DockerStack) -> Iterator[Project]:
    with team_project(tmp_path / "project") as made:
        yield made


def _cached(report: dict[str, object]) -> dict[str, bool]:
    return {s["instruction"]: s["cached"] for s in steps_of(report, "app")}  # type: ignore[arg-type]


def test_push_cache_lets_a_fresh_tls_engine_reuse_every_step(
    project: Project, team_registry: Registry, tls_engine: TlsEngine
) -> None:
    prefix = f"{team_registry.address}/{unique('team')}"
    store = image_store()
    pushed = project.inv("build-fast", "--push-cache", "--json", DOCKYARD_TEAM_CACHE=prefix)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    report = json.loads(pushed.stdout)
    team = report["team_cache"]
    expected = "registry" if store == "containerd" else "inline"
    assert team["export"] == expected, team
    assert (
        f"team cache: exporting as {'type=registry' if expected == 'registry' else 'inline'}"
        in (pushed.stderr)
    )
    service = team["services"]["app"]
    assert service["pushed"] is True and service["push_error"] is None, service
    assert service["ref"] == f"{prefix}/{project.name}/app:main"
    repository = service["ref"].split("/", 1)[1].rsplit(":", 1)[0]
    assert team_registry.tags(repository) == ["main"]

    # The doctor checks the same setup before a build: registry answers, refs, export mode.
    doctor = project.inv("doctor", "--json", DOCKYARD_TEAM_CACHE=prefix)
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "team-cache")
    assert check["status"] == "PASS", check
    assert f"registry {team_registry.address} answers" in check["reason"]
    assert ("mode=max" in check["reason"]) is (expected == "registry"), check

    # The teammate's fresh machine: the third engine, its build cache emptied, over TLS.
    tls_engine.forget_builds()
    fresh = project.inv(
        "build-fast", "--json", DOCKYARD_TEAM_CACHE=prefix, **tls_engine.client_env()
    )
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    rebuilt = json.loads(fresh.stdout)
    cached = _cached(rebuilt)
    assert cached and all(cached.values()), cached
    got = rebuilt["team_cache"]["services"]["app"]
    assert got["imported"] == [service["ref"]], got
    assert got["team_steps"] == got["cached_steps"] == len(cached), got
    assert got["local_steps"] == 0 and got["pulled_layers"] >= len(cached), got
    # the ledger keeps the ref each build used
    ledger = Ledger(project.root / ".state" / "ledger.sqlite3")
    (kept,) = [
        b for b in ledger.service_builds(project=project.name) if b.build_id == rebuilt["build_id"]
    ]
    assert kept.team_cache is not None and kept.team_cache["ref"] == service["ref"], kept
    assert kept.team_cache["imported"] == [service["ref"]]
    # build-fast says where it built and how much context it sent there
    assert (rebuilt["engine"], rebuilt["remote"]) == (tls_engine.host, True)
    sent = rebuilt["services"][0]["context_bytes"]
    assert isinstance(sent, int) and sent > 0, sent
    # the image is there, on that engine
    assert tls_engine.docker("image", "inspect", project.env["TC_IMAGE"]).returncode == 0
