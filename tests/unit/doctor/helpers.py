"""What the doctor's unit tests share: compose configs in the shape `docker compose config
--format json` gives (captured from compose 2.26 for the bundled project and the `leaky`
fixture; paths made relative to this checkout), gathering a service's facts from files on disk,
and a healthy environment built by hand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from dockyard.compose import ComposeProject, Service
from dockyard.doctor.checks import SERVICE_CHECKS
from dockyard.doctor.facts import EnvironmentFacts, ServiceFacts, Thresholds
from dockyard.doctor.gather import gather_service, project_builds
from dockyard.doctor.report import CheckResult
from dockyard.engine.stackinfo import StackInfo, from_outputs

REPO = Path(__file__).resolve().parents[3]
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
    return gather_service(
        services_model[name],
        builds=project_builds(services_model),
        hadolint_path=kwargs.pop("hadolint_path", HADOLINT),
        **kwargs,
    )


def statuses(results: list[CheckResult]) -> dict[str, str]:
    return {r.id: r.status for r in results}


def service_results(svc: ServiceFacts, limits: Thresholds = LIMITS) -> list[CheckResult]:
    return [check(svc, limits) for check in SERVICE_CHECKS]


def result_of(svc: ServiceFacts, check_id: str, limits: Thresholds = LIMITS) -> CheckResult:
    return {r.id: r for r in service_results(svc, limits)}[check_id]


def dockerfile_facts(text: str, tmp_path: Path, **build: Any) -> ServiceFacts:
    (tmp_path / "Dockerfile").write_bytes(text.encode())
    (tmp_path / ".dockerignore").write_bytes(b"**/.env\n")
    services = {"svc": {"build": {"context": str(tmp_path), "dockerfile": "Dockerfile", **build}}}
    return gather("svc", services, "p", hadolint_path=None)


STACK_DATA = Path(__file__).resolve().parents[2] / "data" / "stack"


def captured_stack(name: str) -> StackInfo:
    """What dockyard read of a real stack (tests/data/stack: `classic` or `sid`)."""
    return from_outputs(
        json.loads((STACK_DATA / f"{name}.version.json").read_text(encoding="utf-8")),
        json.loads((STACK_DATA / f"{name}.info.json").read_text(encoding="utf-8")),
        (STACK_DATA / f"{name}.buildx.txt").read_text(encoding="utf-8"),
        (STACK_DATA / f"{name}.compose.txt").read_text(encoding="utf-8"),
        environ={},
    )


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
    stack=captured_stack("classic"),
)
