"""`inv size`, `inv history`, `inv inspect-layers` through the real CLI on the real engine: a copy
of the bundled backend (built once for the module), a purpose-built wasteful image, unknown
names. Every number is checked against `docker image inspect` / `docker image history`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.image.instruction import clean_instruction
from dockyard.units import parse_size
from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import (
    Project,
    bundled_backend_copy,
    image_store,
    layer_file_bytes,
    unique,
)

pytestmark = pytest.mark.docker


def docker(*args: str) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def inspect(reference: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(docker("image", "inspect", reference))
    return data[0]


def docker_history(reference: str, *, human: bool) -> list[dict[str, str]]:
    flags = [] if human else ["--human=false"]
    out = docker("image", "history", "--no-trunc", *flags, "--format", "{{json .}}", reference)
    return [json.loads(line) for line in out.splitlines()]


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The failure: exactly one line on stderr, with a hint, and no traceback anywhere."""
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "hint:" in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[Project]:
    proj = bundled_backend_copy(tmp_path_factory.mktemp("image-tasks"))
    wasteful = f"dockyard-test/wasteful:{unique('w')}"
    proj.env["WASTEFUL_TAG"] = wasteful  # not read by anything; remembered for teardown
    report = proj.inv_json("build-fast")
    assert report["status"] == "ok"
    yield proj
    proj.teardown([proj.env["BACKEND_IMAGE"], wasteful])


@pytest.fixture(scope="module")
def wasteful_image(project: Project) -> str:
    """A 3,000,000-byte file written in one RUN and deleted in the next."""
    tag = project.env["WASTEFUL_TAG"]
    context = project.root / "wasteful"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {PYTHON_IMAGE}\nRUN head -c 3000000 /dev/urandom > /big.bin\nRUN rm /big.bin\n",
        encoding="utf-8",
    )
    docker("build", "--quiet", "--tag", tag, str(context))
    return tag


def test_size_agrees_with_docker_image_inspect(project: Project) -> None:
    rows = {row["service"]: row for row in project.inv_json("size")}
    assert set(rows) == {"backend", "postgres"}
    for row in rows.values():
        image = inspect(row["image"])
        assert row["present"] is True and row["status"] == "ok"
        assert row["size"] == image["Size"]
        assert row["layers"] == len(image["RootFS"]["Layers"])
        assert row["image_id"] == image["Id"]
        assert row["created"] == image["Created"]
        assert row["budget"] is None
    assert rows["backend"]["image"] == project.env["BACKEND_IMAGE"]
    assert rows["backend"]["previous"] is None  # one build recorded, and it made this image

    table = project.inv("size")
    assert table.returncode == 0, table.stderr
    assert "backend" in table.stdout and f"{rows['backend']['size']} B" in table.stdout


def test_size_change_is_measured_against_the_previous_build(project: Project) -> None:
    first = project.inv_json("size", "--image", "backend")[0]
    main = project.root / "backend" / "app" / "main.py"
    added = f"\n# {unique('edit')}\n"
    main.write_text(main.read_text(encoding="utf-8") + added, encoding="utf-8")
    report = project.inv_json("build-fast")
    assert report["status"] == "ok"
    (row,) = project.dockyard_json("size", "backend")  # the program's positional
    assert row["image_id"] == report["services"][0]["image_id"] != first["image_id"]
    assert row["previous"]["image_id"] == first["image_id"]
    assert row["previous"]["size"] == first["size"]
    assert row["change"] == row["size"] - first["size"]
    if image_store() == "classic":  # uncompressed layer bytes: exactly the added line
        assert row["change"] == len(added.encode())
    else:  # the containerd store counts compressed blobs: a few bytes either way
        assert 0 < abs(row["change"]) < 200


def test_size_over_budget_fails_with_one_line(project: Project) -> None:
    done = project.inv("size", "--max-size", "1MB")
    assert done.returncode == 1
    assert "OVER BUDGET" in done.stdout
    line = one_line_error(done)
    # Both images are over; the first in the compose file's order (postgres, then backend) is
    # named, the other counted.
    assert line.startswith("✗ postgres is over budget:") or line.startswith("x postgres is over")
    assert "(--max-size) (and 1 more)" in line

    rows = json.loads(
        project.inv("size", "--image", "backend", "--json", "--max-size", "1MB").stdout
    )
    assert rows[0]["over_budget"] is True and rows[0]["budget"] == 1_000_000


def test_history_agrees_with_docker_image_history(project: Project) -> None:
    result = project.inv_json("history")
    reference = project.env["BACKEND_IMAGE"]
    assert result["image"] == reference and result["service"] == "backend"
    exact = docker_history(reference, human=False)
    shown = docker_history(reference, human=True)
    rows = result["rows"]
    assert len(rows) == len(exact) == len(shown)
    for row, raw, human in zip(rows, exact, shown, strict=True):
        assert row["size"] == int(raw["Size"])
        assert abs(row["size"] - parse_size(human["Size"])) <= row["size"] // 100
        assert row["created"] == raw["CreatedAt"]
        assert row["created_by"] == raw["CreatedBy"]
        assert row["instruction"] == clean_instruction(raw["CreatedBy"])
    # The base image's own rows (the stand-in is one imported layer) are marked, only those.
    base_rows = len(docker_history(PYTHON_IMAGE, human=False))
    assert [row["base"] for row in rows] == [False] * (len(rows) - base_rows) + [True] * base_rows
    assert result["base"]["reference"] == PYTHON_IMAGE
    instructions = [row["instruction"] for row in rows]
    assert "COPY app/ ./app/" in instructions
    assert not any("#(nop)" in text or "# buildkit" in text for text in instructions)

    table = project.dockyard("history", "backend")
    assert table.returncode == 0, table.stderr
    assert "COPY app/ ./app/" in table.stdout and "base" in table.stdout


def test_inspect_layers_backend_passes_the_default_gate(project: Project) -> None:
    done = project.inv("inspect-layers", "--ci", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    image = inspect(project.env["BACKEND_IMAGE"])
    base = inspect(PYTHON_IMAGE)
    analysis = result["analysis"]
    assert result["gate"]["status"] == "PASS"
    assert [r["rule"] for r in result["gate"]["results"]] == ["min_efficiency", "max_wasted_bytes"]
    assert [layer["diff_id"] for layer in analysis["layers"]] == image["RootFS"]["Layers"]
    assert result["base"]["reference"] == PYTHON_IMAGE
    assert analysis["base_layer_count"] == len(base["RootFS"]["Layers"])
    assert analysis["user_wasted_bytes"] == 0
    assert analysis["user_efficiency"] == 1.0
    assert result["image_size"] == image["Size"]
    # The user's layers store what they hold, counted without dockyard; on the classic store
    # that is also what Docker says they add (no symlinks made in them).
    assert analysis["user_bytes"] == layer_file_bytes(
        project.env["BACKEND_IMAGE"], analysis["base_layer_count"]
    )
    if image_store() == "classic":
        assert analysis["user_bytes"] == image["Size"] - base["Size"]

    table = project.inv("inspect-layers", "--image", "backend", "--ci")
    assert table.returncode == 0, table.stderr
    assert "gate: PASS" in table.stdout
    assert "Traceback" not in table.stdout + table.stderr


def test_wasteful_image_reports_exactly_the_deleted_file(
    project: Project, wasteful_image: str
) -> None:
    done = project.inv(
        "inspect-layers", "--image", wasteful_image, "--ci", "--json", "--base", PYTHON_IMAGE,
        "--max-wasted", "2MB",
    )  # fmt: skip
    assert done.returncode == 1
    result = json.loads(done.stdout)
    analysis = result["analysis"]
    assert analysis["user_wasted_bytes"] == 3_000_000
    assert analysis["wasteful_paths"][0]["path"] == "big.bin"
    assert analysis["wasteful_paths"][0]["deleted_at_end"] is True
    statuses = {r["rule"]: r["status"] for r in result["gate"]["results"]}
    assert statuses == {"min_efficiency": "FAIL", "max_wasted_bytes": "FAIL"}
    assert result["service"] is None  # not an image of the project
    line = one_line_error(done)
    assert "layer gate FAIL" in line and "(and 1 more)" in line

    # Without --base and without a Dockerfile, the base is found by its layers: the same
    # verdict, the stand-in's 190 MB are not the user's.
    plain = project.dockyard("inspect-layers", wasteful_image)
    assert plain.returncode == 0, plain.stderr  # no --ci: the gate is shown, not enforced
    assert "base found by layers: " in plain.stdout
    assert "every layer counted as yours" not in " ".join(plain.stdout.split())
    assert "gate: FAIL" in plain.stdout and "user efficiency 0.0%" in plain.stdout


@pytest.fixture()
def plain_build(project: Project) -> Iterator[str]:
    """A tiny image made by a plain `docker build` (no compose project), removed afterwards."""
    tag = f"dockyard-test/plain:{unique('p')}"
    context = project.root / unique("plain")
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {PYTHON_IMAGE}\nRUN echo plain > /plain.txt\nENV PLAIN=1\n", encoding="utf-8"
    )
    docker("build", "--quiet", "--tag", tag, str(context))
    try:
        yield tag
    finally:
        subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)


def test_the_base_of_a_plain_docker_build_is_found_by_its_layers(
    project: Project, plain_build: str
) -> None:
    base = inspect(PYTHON_IMAGE)
    base_layers = base["RootFS"]["Layers"]
    image = inspect(plain_build)
    assert image["RootFS"]["Layers"][: len(base_layers)] == base_layers

    result = project.inv_json("inspect-layers", "--image", plain_build)
    assert result["base"]["source"] == "found by layers"
    assert inspect(result["base"]["reference"])["Id"] == base["Id"]  # the stand-in, by any tag
    assert result["base"]["layer_ids"] == base_layers
    analysis = result["analysis"]
    assert analysis["base_layer_count"] == len(base_layers)
    mine = [layer for layer in analysis["layers"] if not layer["is_base"]]
    assert len(mine) == len(image["RootFS"]["Layers"]) - len(base_layers) == 1
    assert analysis["user_bytes"] == len(b"plain\n") and result["notes"] == []
    text = project.inv("inspect-layers", "--image", plain_build)
    assert text.returncode == 0, text.stderr
    assert f"base found by layers: {result['base']['reference']}: layer" in text.stdout

    history = project.inv_json("history", "--image", plain_build)
    assert history["base"]["source"] == "found by layers"
    base_rows = len(docker_history(PYTHON_IMAGE, human=False))
    marks = [row["base"] for row in history["rows"]]
    assert marks == [False] * (len(marks) - base_rows) + [True] * base_rows
    assert [row["instruction"] for row in history["rows"] if not row["base"]] == [
        "ENV PLAIN=1",
        "RUN echo plain > /plain.txt",
    ]
    shown = project.dockyard("history", plain_build)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[-1].startswith("base found by layers: ")


@pytest.mark.parametrize("task", ["history", "inspect-layers", "size"])
def test_unknown_image_is_one_line_with_a_hint(project: Project, task: str) -> None:
    done = project.inv(task, "--image", "nosuch-dockyard:image")
    assert done.returncode == 2
    line = one_line_error(done)
    assert "image not found: nosuch-dockyard:image" in line


def test_service_without_an_image_yet(project: Project) -> None:
    missing = f"dockyard-test/never-built:{unique('n')}"
    done = project.inv("inspect-layers", BACKEND_IMAGE=missing)
    assert done.returncode == 2
    assert "backend has no image yet" in one_line_error(done)
    rows = project.inv("size", "--json", BACKEND_IMAGE=missing)
    assert rows.returncode == 0, rows.stderr
    (backend,) = [r for r in json.loads(rows.stdout) if r["service"] == "backend"]
    assert (backend["present"], backend["status"]) == (False, "not built")


def test_bad_gate_setting_is_one_line(project: Project) -> None:
    done = project.inv("inspect-layers", DOCKYARD_MIN_EFFICIENCY="most")
    assert done.returncode == 2
    assert "DOCKYARD_MIN_EFFICIENCY" in one_line_error(done)
