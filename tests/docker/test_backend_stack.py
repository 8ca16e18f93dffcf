"""The compose stack itself on a real engine: build, health, API, persistence, fast shutdown.

The stack is built and started once per module under a unique project name, image tag and host
port, so it can run next to a developer's own stack (and other test runs) on a shared engine.
Teardown removes the project's containers, network and volume (`down -v`) and the images this
module built, and nothing else.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import POSTGRES_IMAGE, PYTHON_IMAGE, UV_IMAGE, DockerStack
from tests.docker.helpers import remove_images

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"

# Variables the compose file interpolates; taken out of the inherited environment so a
# developer's shell or .env cannot change what this module tests.
_COMPOSE_VARS = (
    "PYTHON_IMAGE",
    "UV_IMAGE",
    "POSTGRES_IMAGE",
    "BACKEND_IMAGE",
    "BACKEND_PORT",
    "CACHE_ID",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_PROFILES",
    "COMPOSE_ENV_FILES",
)

BUILD_TIMEOUT = 900
UP_TIMEOUT = 120

ARTICLES = (
    {
        "title": "Ranking with PostgreSQL full-text search",
        "body": "A tsvector column with a GIN index and ts_rank orders documents by relevance.",
        "tags": ["postgres", "search"],
    },
    {
        "title": "BuildKit cache mounts",
        "body": "Cache mounts keep downloaded wheels between image builds.",
        "tags": ["docker", "build"],
    },
    {
        "title": "Sourdough at home",
        "body": "Flour, water, salt and patience; a search for the perfect crumb.",
        "tags": ["baking"],
    },
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    project: str
    image: str
    port: int
    env: dict[str, str]
    env_file: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            "docker",
            "compose",
            "--file",
            str(COMPOSE_FILE),
            "--project-name",
            self.project,
            # An empty env file replaces the repository's .env (a developer's settings).
            "--env-file",
            str(self.env_file),
            *args,
        ]
        result = subprocess.run(
            cmd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(cmd)} exited {result.returncode}\n"
                f"--- stdout (tail)\n{result.stdout[-3000:]}\n"
                f"--- stderr (tail)\n{result.stderr[-3000:]}",
                pytrace=False,
            )
        return result

    def up(self) -> None:
        result = self.compose(
            "up",
            "--detach",
            "--wait",
            "--wait-timeout",
            str(UP_TIMEOUT),
            timeout=UP_TIMEOUT + 60,
            check=False,
        )
        if result.returncode != 0:
            logs = self.compose("logs", "--no-color", "--tail", "50", check=False)
            pytest.fail(
                f"compose up --wait failed ({result.returncode}):\n{result.stderr[-3000:]}\n"
                f"--- logs\n{logs.stdout[-4000:]}",
                pytrace=False,
            )

    def request(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            body = err.read()
            return err.code, json.loads(body) if body else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack) -> Iterator[Stack]:
    token = secrets.token_hex(4)
    project = f"dockyard-test-backend-{token}"
    env_file = tmp_path_factory.mktemp("compose-env") / "empty.env"
    env_file.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _COMPOSE_VARS}
    stack = Stack(
        project=project,
        image=f"dockyard-test/backend:{token}",
        port=_free_port(),
        env=env,
        env_file=env_file,
    )
    env.update(
        PYTHON_IMAGE=PYTHON_IMAGE,
        UV_IMAGE=UV_IMAGE,
        POSTGRES_IMAGE=POSTGRES_IMAGE,
        BACKEND_IMAGE=stack.image,
        BACKEND_PORT=str(stack.port),
    )
    try:
        stack.compose("build", "backend", timeout=BUILD_TIMEOUT)
        stack.up()
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
        remove_images([stack.image], project=stack.project)


@pytest.fixture(scope="module")
def article_ids(stack: Stack) -> list[int]:
    ids = []
    for article in ARTICLES:
        status, body = stack.request("POST", "/articles", article)
        assert status == 201, body
        assert body["title"] == article["title"]
        assert body["tags"] == article["tags"]
        ids.append(int(body["id"]))
    return ids


def test_services_are_healthy(stack: Stack) -> None:
    result = stack.compose("ps", "--format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    health = {row["Service"]: row.get("Health") for row in rows}
    assert health == {"backend": "healthy", "postgres": "healthy"}


def test_health_endpoint(stack: Stack) -> None:
    status, body = stack.request("GET", "/health")
    assert status == 200
    assert body["status"] == "ok"


def test_search_ranks_the_matching_article_first(stack: Stack, article_ids: list[int]) -> None:
    status, body = stack.request("GET", "/search?q=postgresql%20ranking&limit=5")
    assert status == 200, body
    assert body["results"], body
    top = body["results"][0]
    assert top["id"] == article_ids[0]
    assert top["rank"] > 0

    # "search" is in article 0's title (weight A) and only in article 2's body (weight B).
    status, body = stack.request("GET", "/search?q=search")
    assert status == 200, body
    assert [hit["id"] for hit in body["results"]] == [article_ids[0], article_ids[2]]
    assert body["results"][0]["rank"] > body["results"][1]["rank"]

    status, body = stack.request("GET", "/search?q=search&limit=1")
    assert [hit["id"] for hit in body["results"]] == [article_ids[0]]

    status, body = stack.request("GET", "/search?q=kubernetes")
    assert status == 200 and body["results"] == []


def test_get_article_and_404(stack: Stack, article_ids: list[int]) -> None:
    status, body = stack.request("GET", f"/articles/{article_ids[1]}")
    assert status == 200
    assert body["title"] == ARTICLES[1]["title"]
    assert body["body"] == ARTICLES[1]["body"]

    status, _ = stack.request("GET", f"/articles/{max(article_ids) + 1000}")
    assert status == 404


def test_backend_runs_as_non_root(stack: Stack) -> None:
    result = stack.compose("exec", "-T", "backend", "id", "-u")
    assert result.stdout.strip().isdigit()
    assert int(result.stdout.strip()) != 0


def _started_at(container: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", container],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()


def test_backend_survives_a_postgres_restart(stack: Stack, article_ids: list[int]) -> None:
    """The pool drops dead connections and reconnects; the app process is not restarted."""
    backend = f"{stack.project}-backend-1"
    before = _started_at(backend)
    stack.compose("restart", "postgres")
    deadline = time.monotonic() + 60
    status = 0
    while time.monotonic() < deadline:
        status, _ = stack.request("GET", f"/articles/{article_ids[0]}")
        if status == 200:
            break
        assert status == 503, f"unexpected status {status} while PostgreSQL restarts"
        time.sleep(0.5)
    assert status == 200, "backend did not recover after PostgreSQL restarted"
    assert stack.request("GET", "/health")[0] == 200
    assert _started_at(backend) == before, "the backend container was restarted"


def test_sigterm_reaches_uvicorn(stack: Stack) -> None:
    """`stop` ends uvicorn cleanly on SIGTERM (exit 0, well before Docker's 10 s SIGKILL)."""
    started = time.monotonic()
    stack.compose("stop", "--timeout", "10", "backend")
    elapsed = time.monotonic() - started
    inspect = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.ExitCode}}", f"{stack.project}-backend-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert inspect.stdout.strip() == "0", "uvicorn was killed instead of shutting down"
    assert elapsed < 5, f"stop took {elapsed:.1f}s"
    stack.up()


def test_data_survives_down_and_up_and_down_is_fast(stack: Stack, article_ids: list[int]) -> None:
    started = time.monotonic()
    stack.compose("down", "--timeout", "10")
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"docker compose down took {elapsed:.1f}s (SIGTERM not handled?)"

    stack.up()
    status, body = stack.request("GET", f"/articles/{article_ids[0]}")
    assert status == 200
    assert body["title"] == ARTICLES[0]["title"]
    status, body = stack.request("GET", "/search?q=cache%20mounts")
    assert [hit["id"] for hit in body["results"]][:1] == [article_ids[1]]
