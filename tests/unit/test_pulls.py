"""Images a build or `up` cannot pull, read from real captures of both stacks (tests/data/pull,
see its README): which image, where the project names it, why, and what to do.

The builds run through build.run_build and `up` through stack.up on the shared fake engine,
which replays each capture's stream, stderr and exit code; the Dockerfiles are the capture's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException

from dockyard import build, pulls, stack
from dockyard.dockerfile import parse
from dockyard.engine.errors import translate
from dockyard.errors import CommandFailed, DaemonUnreachable, DockyardError, PullFailed
from dockyard.ledger import Ledger
from dockyard.progress import RawJsonStream
from dockyard.settings import load_settings
from tests.fake_engine import BuildScript, FakeEngine

PULL = Path(__file__).resolve().parents[1] / "data" / "pull"
BENCH_DATA = Path(__file__).resolve().parents[1] / "data" / "bench"
STACKS = ("classic", "sid")
DNS = "dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"  # this machine's
OFFLINE = f"no registry reachable ({DNS})"
LOCAL = "dockyard-local/python:3.11-slim"

# The Dockerfiles of capture.sh, line for line.
DOCKERFILES = {
    "build_from": "ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE}\nRUN true\n",
    "build_syntax": f"# syntax=docker/dockerfile:1\nFROM {LOCAL}\nRUN true\n",
    "build_copy_from": f"FROM {LOCAL}\nCOPY --from=busybox:1.36 /bin/busybox /busybox\n",
    "build_mount_from": f"FROM {LOCAL}\nRUN --mount=from=busybox:1.36,target=/bb ls /bb\n",
    "build_not_found": "FROM 127.0.0.1:5871/dypull/nosuch:1\nRUN true\n",
    "build_unauthorized": "FROM 127.0.0.1:5872/dypull/nosuch:1\nRUN true\n",
    "build_pull_local": f"FROM {LOCAL}\nRUN true\n",  # built with --pull
    "build_two_bases": (
        "FROM busybox:1.36 AS tools\nFROM python:3.11-slim\n"
        "COPY --from=tools /bin/busybox /busybox\n"
    ),
}


def capture(stack_name: str, name: str) -> tuple[bytes, bytes, int]:
    base = PULL / f"{stack_name}_{name}"
    out = base.with_suffix(".out")
    return (
        out.read_bytes() if out.exists() else b"",
        base.with_suffix(".err").read_bytes(),
        int(base.with_suffix(".rc").read_text()),
    )


def failure(command: list[str], stderr: bytes, rc: int) -> DockyardError:
    return translate(DockerException(command, rc, stderr=stderr))


def build_engine(
    tmp_path: Path,
    stack_name: str,
    name: str,
    *,
    compose: str = "",
    args: dict[str, str] | None = None,
) -> FakeEngine:
    out, err, rc = capture(stack_name, name)
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILES[name], encoding="utf-8")
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(compose or "services: {}\n", encoding="utf-8")
    settings = load_settings(
        tmp_path,
        environ={
            "COMPOSE_FILE": str(compose_file),
            "DOCKYARD_ENV_FILE": str(tmp_path / "none.env"),
            "DOCKYARD_STATE_DIR": str(tmp_path / "state"),
        },
    )
    script = BuildScript(
        [("stdout", line) for line in out.splitlines(keepends=True)],
        error=failure(["docker", "compose", "build"], err, rc),
    )
    services = {"app": {"build": {"context": str(context), "args": args or {}}, "image": "p/app:1"}}
    return FakeEngine(settings, services, project="p", builds=[script])


def build_error(engine: FakeEngine) -> PullFailed:
    with pytest.raises(PullFailed) as caught:
        build.run_build(engine, ["app"])
    return caught.value


# -- builds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", STACKS)
def test_an_unpullable_base_image_names_the_from_line_and_its_arg(
    tmp_path: Path, stack_name: str
) -> None:
    err = build_error(build_engine(tmp_path, stack_name, "build_from"))
    assert err.message == f"cannot pull python:3.11-slim (app/Dockerfile:2, FROM): {OFFLINE}"
    assert err.hint == (
        "`docker pull python:3.11-slim` where a registry is reachable, or `docker load` it; "
        "or point the build ARG PYTHON_IMAGE at a local image (`docker image ls`)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_the_compose_variable_behind_the_build_arg_is_the_one_to_set(
    tmp_path: Path, stack_name: str
) -> None:
    compose = (
        "services:\n  app:\n    build:\n      args:\n"
        "        PYTHON_IMAGE: ${BASE_IMAGE:-python:3.11-slim}\n"
    )
    engine = build_engine(
        tmp_path,
        stack_name,
        "build_from",
        compose=compose,
        args={"PYTHON_IMAGE": "python:3.11-slim"},
    )
    err = build_error(engine)
    assert err.hint.endswith(
        "or set BASE_IMAGE to a local image in .env or the environment (the compose file passes "
        "it to the build ARG PYTHON_IMAGE)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_an_offline_syntax_line_says_drop_it(tmp_path: Path, stack_name: str) -> None:
    err = build_error(build_engine(tmp_path, stack_name, "build_syntax"))
    assert (
        err.message == f"cannot pull docker/dockerfile:1 (app/Dockerfile:1, # syntax=): {OFFLINE}"
    )
    assert err.hint.startswith("drop the `# syntax=` line (app/Dockerfile:1)")


@pytest.mark.parametrize("stack_name", STACKS)
@pytest.mark.parametrize(
    ("name", "how", "instead"),
    [
        ("build_copy_from", "COPY --from", "or copy from a local image or a build stage"),
        ("build_mount_from", "RUN --mount from", "or mount from a local image or a build stage"),
    ],
)
def test_an_unpullable_image_copied_or_mounted_from(
    tmp_path: Path, stack_name: str, name: str, how: str, instead: str
) -> None:
    # Engine 28 cancels the local base image's `load metadata` when busybox fails: the build is
    # broken, not interrupted, and the image that failed is busybox.
    canceled = b'"error":"context canceled"' in capture(stack_name, name)[0]
    assert canceled is (stack_name == "sid")
    engine = build_engine(tmp_path, stack_name, name)
    err = build_error(engine)
    assert err.message == f"cannot pull busybox:1.36 (app/Dockerfile:2, {how}): {OFFLINE}"
    assert err.hint.endswith(f"{instead} instead")
    (record,) = Ledger(engine.settings.ledger_path).service_builds()
    assert record.status == "failed"


@pytest.mark.parametrize("stack_name", STACKS)
def test_an_image_the_registry_does_not_have(tmp_path: Path, stack_name: str) -> None:
    err = build_error(build_engine(tmp_path, stack_name, "build_not_found"))
    assert err.message == (
        "cannot pull 127.0.0.1:5871/dypull/nosuch:1 (app/Dockerfile:1, FROM): "
        "127.0.0.1:5871 has no such image (not found)"
    )
    assert err.hint.startswith("check the name and tag (`docker image ls` lists the local images)")
    assert err.hint.endswith(
        "or change the FROM at app/Dockerfile:1 to a local image (`docker image ls`)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_an_image_behind_a_login(tmp_path: Path, stack_name: str) -> None:
    err = build_error(build_engine(tmp_path, stack_name, "build_unauthorized"))
    assert err.message.startswith(
        "cannot pull 127.0.0.1:5872/dypull/nosuch:1 (app/Dockerfile:1, FROM): "
        "127.0.0.1:5872 refused it without a login ("
    )
    assert err.message.endswith("401 Unauthorized)")
    assert err.hint.startswith("`docker login 127.0.0.1:5872` if it is private")


@pytest.mark.parametrize("stack_name", STACKS)
def test_two_images_that_both_failed_are_both_named(tmp_path: Path, stack_name: str) -> None:
    err = build_error(build_engine(tmp_path, stack_name, "build_two_bases"))
    first, other = (
        ("busybox:1.36", "python:3.11-slim")
        if err.message.startswith("cannot pull busybox")
        else ("python:3.11-slim", "busybox:1.36")
    )
    line = {"busybox:1.36": 1, "python:3.11-slim": 2}[first]
    assert err.message == (
        f"cannot pull {first} (app/Dockerfile:{line}, FROM): {OFFLINE} (also: {other})"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_with_pull_a_local_base_image_says_build_without_it(
    tmp_path: Path, stack_name: str
) -> None:
    engine = build_engine(tmp_path, stack_name, "build_pull_local")
    engine.images[LOCAL] = {"Id": "sha256:" + "1" * 64, "Size": 1}
    with pytest.raises(PullFailed) as caught:
        build.run_build(engine, ["app"], pull=True)
    assert caught.value.message == f"cannot pull {LOCAL} (app/Dockerfile:1, FROM): {OFFLINE}"
    assert caught.value.hint == (
        "the image is in the engine: build without --pull (which asks the registry)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_bench_build_through_buildx(stack_name: str) -> None:
    # `docker buildx build --progress=rawjson` (inv bench) writes stream and error on stderr.
    err = (PULL / f"{stack_name}_buildx_from.err").read_bytes()
    stream = RawJsonStream(default_service="naive")
    for line in err.splitlines(keepends=True):
        stream.feed(line, "stderr")
    stream.close()
    failure = pulls.build_pull_failure(
        stream.report("naive", 1),
        err.decode(),
        dockerfile=DOCKERFILES["build_from"],
        shown="backend/Dockerfile.naive",
        build_args={"PYTHON_IMAGE": "python:3.11-slim", "CACHE_ID": "x"},
        subject="bench build (naive)",
        variable_for={"python:3.11-slim": "PYTHON_IMAGE"}.get,
    )
    assert failure is not None
    assert failure.message == (
        f"cannot pull python:3.11-slim (backend/Dockerfile.naive:2, FROM): {OFFLINE}"
    )
    assert "or set PYTHON_IMAGE to a local image" in failure.hint


def test_a_failure_that_is_no_pull_stays_a_step_failure() -> None:
    assert pulls.read_pull_error(
        'RUN echo x: process "/bin/sh -c echo x" did not complete successfully: exit code: 7',
        "failed to solve: process \"/bin/sh -c echo x\" did not complete successfully",
    ) is None  # fmt: skip


def test_compose_stderr_alone_names_the_image_and_why() -> None:
    for stack_name in STACKS:
        for name in DOCKERFILES:
            stderr = capture(stack_name, name)[1].decode()
            error = pulls.read_pull_error(stderr)
            assert error is not None, (stack_name, name)
            expected = {"build_not_found": "not-found", "build_unauthorized": "unauthorized"}
            assert error.why == expected.get(name, "offline"), (stack_name, name)


# -- up ------------------------------------------------------------------------------------------


def up_error(
    tmp_path: Path, stack_name: str, name: str, image: str, compose: str = ""
) -> PullFailed:
    _, err, rc = capture(stack_name, name)
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(compose or "services: {}\n", encoding="utf-8")
    settings = load_settings(tmp_path, environ={"COMPOSE_FILE": str(compose_file)})
    engine = FakeEngine(
        settings,
        {"db": {"image": image}},
        up_error=failure(["docker", "compose", "up"], err, rc),
    )
    with pytest.raises(PullFailed) as caught:
        stack.up(engine, [], timeout=30)
    return caught.value


@pytest.mark.parametrize("stack_name", STACKS)
def test_an_unpullable_image_at_up_names_the_service(tmp_path: Path, stack_name: str) -> None:
    # Engine 26 names only the service (`db Error Get "https://registry-1.docker.io/v2/"`).
    err = up_error(tmp_path, stack_name, "up_image", "postgres:16")
    assert err.message == f"cannot pull postgres:16 (service db, image:): {OFFLINE}"
    assert err.hint == (
        "`docker pull postgres:16` where a registry is reachable, or `docker load` it; "
        "or point image: of db at a local image (`docker image ls`)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_the_compose_variable_of_an_image_is_the_one_to_set(
    tmp_path: Path, stack_name: str
) -> None:
    compose = "services:\n  db:\n    image: ${POSTGRES_IMAGE:-postgres:16}\n"
    err = up_error(tmp_path, stack_name, "up_image", "postgres:16", compose)
    assert err.hint.endswith(
        "or set POSTGRES_IMAGE to a local image in .env or the environment (the compose file's "
        "image: of db reads it)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_local_name_that_is_not_local(tmp_path: Path, stack_name: str) -> None:
    err = up_error(tmp_path, stack_name, "up_local_name", "dypull-nosuch/never-built:v1")
    assert (
        err.message == f"cannot pull dypull-nosuch/never-built:v1 (service db, image:): {OFFLINE}"
    )
    assert "`docker image ls`" in err.hint


@pytest.mark.parametrize("stack_name", STACKS)
@pytest.mark.parametrize(
    ("name", "reason", "hint"),
    [
        ("up_not_found", "127.0.0.1:5871 has no such image", "check the name and tag"),
        (
            "up_unauthorized",
            "127.0.0.1:5872 refused it without a login",
            "`docker login 127.0.0.1:",
        ),
    ],
)
def test_not_found_and_unauthorized_at_up(
    tmp_path: Path, stack_name: str, name: str, reason: str, hint: str
) -> None:
    port = "5871" if name == "up_not_found" else "5872"
    image = f"127.0.0.1:{port}/dypull/nosuch:1"
    err = up_error(tmp_path, stack_name, name, image)
    assert err.message.startswith(f"cannot pull {image} (service db, image:): {reason} (")
    assert err.hint.startswith(hint)


def test_a_compose_error_without_a_pull_is_left_alone(tmp_path: Path) -> None:
    stderr = (PULL.parent / "stderr" / "compose-up-port-taken.txt").read_bytes()
    settings = load_settings(tmp_path, environ={})
    engine = FakeEngine(
        settings,
        {"web": {"image": "p/web:1"}},
        up_error=failure(["docker", "compose", "up"], stderr, 1),
    )
    with pytest.raises(CommandFailed) as caught:
        stack.up(engine, [], timeout=30)
    assert caught.value.message == "port 127.0.0.1:18999 is already in use"


# -- the docker context --------------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_docker_context_that_does_not_exist(
    stack_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stderr, rc = capture(stack_name, "context_missing")
    monkeypatch.setenv("DOCKER_CONTEXT", "dypull-nosuch")
    err = failure(["docker", "compose", "config"], stderr, rc)
    assert isinstance(err, DaemonUnreachable)
    assert err.message == (
        "docker context 'dypull-nosuch' does not exist (DOCKER_CONTEXT=dypull-nosuch)"
    )
    assert err.hint.startswith("`docker context ls` lists the contexts")
    monkeypatch.delenv("DOCKER_CONTEXT")  # the CLI's own current context (`docker context use`)
    err = failure(["docker", "compose", "config"], stderr, rc)
    assert "the current context of the docker CLI" in err.message
    assert "`docker context use default`" in err.hint


# -- where the Dockerfile names an image ---------------------------------------------------------


def test_the_uses_of_a_dockerfile_with_their_lines() -> None:
    text = (
        "# escape=\\\n# syntax=docker/dockerfile:1.7\nARG BASE=python:3.11-slim\n"
        "FROM ${BASE} AS deps\n"
        "RUN --mount=type=cache,target=/c --mount=from=busybox:1.36,target=/b true\n"
        "FROM deps\nCOPY --from=deps /x /x\nCOPY --from=alpine:3 /y /y\n"
    )
    uses = pulls.build_uses(parse(text), "Dockerfile", {"BASE": "local/py:1"})
    assert [(u.reference, u.where, u.how, u.build_arg) for u in uses] == [
        ("docker/dockerfile:1.7", "Dockerfile:2", "# syntax=", ""),
        ("local/py:1", "Dockerfile:4", "FROM", "BASE"),
        ("busybox:1.36", "Dockerfile:5", "RUN --mount from", ""),
        ("alpine:3", "Dockerfile:8", "COPY --from", ""),
    ]
    found = pulls.find_use(uses, "docker.io/library/alpine:3")
    assert found is not None and found.where == "Dockerfile:8"


def test_an_image_the_dockerfile_does_not_name() -> None:
    error = pulls.PullError("docker.io/library/python:3.11-slim", "offline", "no such host")
    unplaced = pulls.pull_failure(error, None, subject="the build of app")
    assert unplaced.message == (
        "cannot pull python:3.11-slim (needed by the build of app): no registry reachable "
        "(no such host)"
    )


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_bench_build_is_read_from_the_plain_lines_of_its_stderr(stack_name: str) -> None:
    # What bench passes: the lines of stderr that are not the rawjson stream. A failed pull is
    # still found (its vertex says it); a broken RUN is no pull, though the stream names the
    # base image in every `load metadata for ...` vertex.
    err = (PULL / f"{stack_name}_buildx_from.err").read_bytes()
    stream = RawJsonStream(default_service="naive")
    stream.feed(err, "stderr")
    stream.close()
    assert (
        pulls.build_pull_failure(
            stream.report("naive", 1),
            "\n".join(stream.plain_text),
            dockerfile=DOCKERFILES["build_from"],
            shown="backend/Dockerfile.naive",
            build_args={"PYTHON_IMAGE": "python:3.11-slim", "CACHE_ID": "x"},
            subject="bench build (naive)",
            variable_for={"python:3.11-slim": "PYTHON_IMAGE"}.get,
        )
        is not None
    )
    canceled = (BENCH_DATA / "naive-canceled.rawjson").read_bytes()
    stream = RawJsonStream(default_service="naive")
    stream.feed(canceled, "stderr")
    stream.close()
    assert (
        pulls.build_pull_failure(
            stream.report("naive", 1),
            "\n".join(stream.plain_text),
            dockerfile="FROM python:3.11-slim\nRUN pip install -r requirements.txt\n",
            shown="Dockerfile.naive",
            build_args={},
            subject="bench build (naive)",
            variable_for=lambda image: None,
        )
        is None
    )
