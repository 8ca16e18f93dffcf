"""dockyard.image's layer analysis against the real engine: images built here, read through
`docker save` (a pipe, never a file), base layers from `docker image inspect BASE`. Each test
tags its images with a unique name and removes them afterwards; nothing is pulled or pruned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.image.analysis import ImageAnalysis, WastedPath, analyse_archive
from dockyard.image.gate import GateRules, evaluate_gate
from dockyard.image.instruction import clean_instruction
from tests.docker.helpers import image_store, layer_file_bytes

pytestmark = pytest.mark.docker

# Same variable and default as tests/conftest.py (local stand-in; no registry is reachable).
PYTHON_IMAGE = os.environ.get("DOCKYARD_PYTHON_IMAGE", "dockyard-local/python:3.11-slim")
BACKEND = Path(__file__).resolve().parents[2] / "backend"


def docker(*args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def inspect(reference: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(docker("image", "inspect", reference))
    return data[0]


@pytest.fixture
def images() -> Iterator[list[str]]:
    """Tags this test created; removed afterwards (only those)."""
    created: list[str] = []
    yield created
    if created:
        subprocess.run(
            ["docker", "image", "rm", "--force", *created],
            capture_output=True,
            timeout=120,
            check=False,
        )


def build(images: list[str], context: Path, dockerfile: str, name: str, *build_args: str) -> str:
    tag = f"dockyard-test-layers-{uuid.uuid4().hex[:10]}:{name}"
    (context / "Dockerfile").write_text(dockerfile)
    command = ["build", "--tag", tag, "--build-arg", f"BASE={PYTHON_IMAGE}"]
    for build_arg in build_args:
        command += ["--build-arg", build_arg]
    images.append(tag)
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    done = subprocess.run(
        ["docker", *command, str(context)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"docker build failed:\n{done.stderr[-3000:]}"
    return tag


def save_and_analyse(tag: str, **kwargs: Any) -> ImageAnalysis:
    """`docker save TAG | analyse_archive` through a pipe, with the base layers of PYTHON_IMAGE."""
    base_ids = inspect(PYTHON_IMAGE)["RootFS"]["Layers"]
    with subprocess.Popen(
        ["docker", "save", tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        result = analyse_archive(process.stdout, base_layer_ids=base_ids, **kwargs)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode(errors="replace")
    return result


def history_instructions(tag: str) -> list[str]:
    rows = docker("image", "history", "--no-trunc", "--format", "{{json .}}", tag)
    return [clean_instruction(json.loads(line)["CreatedBy"]) for line in rows.splitlines()]


def check_against_engine(tag: str, result: ImageAnalysis) -> None:
    """What must agree with the engine for any image built FROM PYTHON_IMAGE."""
    image = inspect(tag)
    base = inspect(PYTHON_IMAGE)
    assert [layer.diff_id for layer in result.layers] == image["RootFS"]["Layers"]
    assert result.base_layer_count == len(base["RootFS"]["Layers"])
    assert result.base_matched
    assert [layer.is_base for layer in result.layers] == [
        index < result.base_layer_count for index in range(len(result.layers))
    ]
    assert result.format == "oci"  # Docker 25+ writes an OCI layout (+ manifest.json)
    assert result.image == tag
    # The user layers' file bytes, counted without dockyard; the classic store's Size says the
    # same (it adds each symlink's target length, but the user layers here make no symlinks).
    assert result.user_bytes == layer_file_bytes(tag, result.base_layer_count)
    if image_store() == "classic":
        assert result.user_bytes == image["Size"] - base["Size"]
    # Every user instruction shows up in `docker image history` as cleaned by us.
    shown = history_instructions(tag)
    for layer in result.user_layers:
        assert layer.instruction in shown


def test_written_then_deleted_file_is_exactly_the_waste(tmp_path: Path, images: list[str]) -> None:
    dockerfile = (
        "ARG BASE\nFROM ${BASE}\nRUN head -c 3000000 /dev/urandom > /big.bin\nRUN rm /big.bin\n"
    )
    tag = build(images, tmp_path, dockerfile, "wasteful")
    result = save_and_analyse(tag)

    check_against_engine(tag, result)
    assert result.user_wasted_bytes == 3_000_000
    assert result.user_bytes == 3_000_000
    assert result.user_efficiency == 0.0
    assert result.wasted_bytes == 3_000_000  # the single-layer base wastes nothing itself
    assert result.wasteful_paths[0] == WastedPath(
        "big.bin", 1, 3_000_000, 3_000_000, True, (result.base_layer_count,)
    )
    first, second = result.user_layers
    assert first.instruction == "RUN head -c 3000000 /dev/urandom > /big.bin"
    assert (first.size, first.added, first.wasted_bytes) == (3_000_000, 1, 3_000_000)
    assert second.instruction == "RUN rm /big.bin"
    assert (second.size, second.removed) == (0, 1)
    assert all(layer.is_base for layer in result.layers[: result.base_layer_count])
    gate = evaluate_gate(result, GateRules(min_efficiency=0.9, max_wasted_bytes=1_000_000))
    assert [g.status for g in gate] == ["FAIL", "FAIL"]


def test_overwrite_wastes_the_hidden_copy_and_base_deletions_stay_out(
    tmp_path: Path, images: list[str]
) -> None:
    dockerfile = (
        "ARG BASE\n"
        "FROM ${BASE}\n"
        "RUN head -c 1000000 /dev/urandom > /data.bin\n"
        "RUN head -c 2000000 /dev/urandom > /data.bin\n"
        "RUN rm -rf /usr/share/doc\n"
    )
    tag = build(images, tmp_path, dockerfile, "overwrite")
    result = save_and_analyse(tag, top_n=50)

    check_against_engine(tag, result)
    # dive would say 3,000,000 (dive#684): the kept 2,000,000 B copy is not waste.
    assert result.user_wasted_bytes == 1_000_000
    assert result.user_visible_bytes == 2_000_000
    assert result.wasteful_paths[0] == WastedPath(
        "data.bin", 2, 1_000_000, 1_000_000, False, (1, 2)
    )
    # Deleting base files frees nothing: the base copies are whole-image waste, not the user's.
    listing = docker(
        "run",
        "--rm",
        PYTHON_IMAGE,
        "find",
        "/usr/share/doc",
        "!",
        "-type",
        "d",
        "-printf",
        "%y %s\\n",
    ).split("\n")
    entries = [line.split() for line in listing if line]
    doc_bytes = sum(int(size) for kind, size in entries if kind == "f")
    assert doc_bytes > 0
    assert result.base_shadowed_bytes == doc_bytes
    assert result.wasted_bytes == 1_000_000 + doc_bytes
    assert result.layers[-1].instruction == "RUN rm -rf /usr/share/doc"
    assert result.layers[-1].removed == len(entries)  # regular files and symlinks


def test_backend_like_image(tmp_path: Path, images: list[str]) -> None:
    """The shape of backend/Dockerfile.optimized, offline: a venv built in a deps stage, a
    non-root user, the real backend code copied in. A clean image: no user waste."""
    shutil.copytree(
        BACKEND / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    shutil.copy(BACKEND / "run.sh", tmp_path / "run.sh")
    dockerfile = """\
ARG BASE
FROM ${BASE} AS deps
RUN python3 -m venv --without-pip /opt/venv \\
    && mkdir -p /opt/venv/lib/python3.11/site-packages/fakepkg \\
    && head -c 200000 /dev/urandom > /opt/venv/lib/python3.11/site-packages/fakepkg/_speedups.so \\
    && echo "VERSION = '1.0'" > /opt/venv/lib/python3.11/site-packages/fakepkg/__init__.py

FROM ${BASE} AS runtime
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" app \\
    && useradd --system --uid "${APP_UID}" --gid app --no-create-home --home-dir /app \\
       --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /app
COPY --chown=app:app app/ /app/app/
COPY --chown=app:app run.sh /app/run.sh
USER app
EXPOSE 8000
HEALTHCHECK --interval=5s CMD python3 -c "print('ok')"
CMD ["/app/run.sh"]
"""
    tag = build(images, tmp_path, dockerfile, "backend")
    result = save_and_analyse(tag)

    check_against_engine(tag, result)
    assert [layer.instruction.split(" ")[0] for layer in result.user_layers] == [
        "RUN", "COPY", "WORKDIR", "COPY", "COPY",
    ]  # fmt: skip
    assert result.user_layers[1].instruction == "COPY /opt/venv /opt/venv"
    assert result.user_wasted_bytes == 0
    assert result.user_efficiency == 1.0
    # useradd rewrote /etc/passwd, /etc/group, ... of the base: shadowed base bytes, not user waste
    assert result.base_shadowed_bytes > 0
    assert result.wasted_bytes == result.base_shadowed_bytes
    shadowed = {path.path for path in result.wasteful_paths}
    assert "etc/passwd" in shadowed
    venv_layer = result.user_layers[1]
    assert venv_layer.largest_files[0].path.endswith("fakepkg/_speedups.so")
    assert venv_layer.largest_files[0].size == 200_000
    code = {path.name for path in (BACKEND / "app").glob("*.py")}
    copied = result.user_layers[3]
    assert copied.added == len(code)
    assert copied.size == sum((BACKEND / "app" / name).stat().st_size for name in code)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["user_wasted_bytes"] == 0
