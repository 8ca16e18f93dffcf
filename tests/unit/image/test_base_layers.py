"""The base of any local image found by layer prefix (`image.base.base_by_layers`), fed with real
`docker image inspect` / `docker image history` captures of both stacks (tests/data/baselayers:
the stand-in python image, the stand-in postgres image and a child built by a plain
`docker build`), and the rule's tie-breaks on the tests' synthetic images."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dockyard import render
from dockyard.image.base import BY_LAYERS, BaseInfo, base_by_layers, find_base
from dockyard.image.gate import GateRules, GateRulesChoice
from dockyard.image.history import image_history
from dockyard.image.inspection import inspect_layers
from dockyard.image.targets import ImageTarget
from dockyard.render import image as render_image
from tests.fake_engine import FakeEngine
from tests.image_archives import CORE, Image, oci_archive
from tests.unit.image.project import BASE, inspect_data, settings_for

DATA = Path(__file__).resolve().parents[2] / "data" / "baselayers"
PYTHON = "dockyard-local/python:3.11-slim"
POSTGRES = "dockyard-local/postgres:15"
CHILD = "dockyard-test/tables-tiny:1796126043"
STACKS = ["classic", "sid"]


def captured(stack: str) -> dict[str, dict[str, Any]]:
    """The stack's inspect results by tag: python, postgres, child."""
    items = json.loads((DATA / f"{stack}.inspect.json").read_text(encoding="utf-8"))
    return {item["RepoTags"][0]: item for item in items}


def history_rows(stack: str, which: str) -> list[dict[str, Any]]:
    text = (DATA / f"{stack}.{which}.history.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("stack", STACKS)
def test_the_stand_in_is_found_as_the_base_of_a_plain_docker_build(stack: str) -> None:
    images = captured(stack)
    child = images[CHILD]
    found = base_by_layers(child, images.values())
    assert found == (PYTHON, tuple(images[PYTHON]["RootFS"]["Layers"]))
    assert len(child["RootFS"]["Layers"]) == 2 and len(found[1]) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_no_base_when_no_local_image_is_a_prefix(stack: str) -> None:
    images = captured(stack)
    assert base_by_layers(images[CHILD], [images[POSTGRES], images[CHILD]]) is None
    # The base itself: the child is longer, postgres shares nothing, and it is not its own.
    assert base_by_layers(images[PYTHON], images.values()) is None


@pytest.mark.parametrize("stack", STACKS)
def test_ties_prefer_a_tagged_image_then_the_shortest_name(stack: str) -> None:
    images = captured(stack)
    python = images[PYTHON]
    # The same layers as the stand-in under another id, as on the containerd store where a
    # re-import or another tag's image shares them: untagged loses, a shorter tag wins.
    untagged = {**copy.deepcopy(python), "Id": "sha256:" + "1" * 64, "RepoTags": []}
    assert base_by_layers(images[CHILD], [untagged, python])[0] == PYTHON
    assert base_by_layers(images[CHILD], [untagged])[0] == untagged["Id"]
    both = {**copy.deepcopy(python), "RepoTags": [PYTHON, "py:3.11", "<none>:<none>"]}
    assert base_by_layers(images[CHILD], [both])[0] == "py:3.11"
    other = {**copy.deepcopy(python), "Id": "sha256:" + "2" * 64, "RepoTags": ["zz/python:1"]}
    assert base_by_layers(images[CHILD], [other, python])[0] == "zz/python:1"  # shorter name
    assert base_by_layers(images[CHILD], [python, other])[0] == "zz/python:1"  # order-free


def test_the_longest_prefix_wins_and_the_same_layers_only_when_older() -> None:
    lower = Image(CORE.layers[:1], BASE.history[:1])
    base = inspect_data(BASE, "sha256:" + "b" * 64) | {"RepoTags": ["example/base:1"]}
    bottom = inspect_data(lower, "sha256:" + "c" * 64) | {"RepoTags": ["a:1"]}
    app = inspect_data(CORE, "sha256:" + "a" * 64) | {"RepoTags": ["example/app:1"]}
    assert base_by_layers(app, [bottom, base, app]) == ("example/base:1", tuple(BASE.diff_ids))
    # A child that only changed metadata has the very same layers: its base is older ...
    twin_old = app | {"Id": "sha256:" + "d" * 64, "RepoTags": ["t:1"]}
    twin_old["Created"] = "2026-11-27T17:00:00Z"
    assert base_by_layers(app, [base, twin_old]) == ("t:1", tuple(CORE.diff_ids))
    # ... an image with the same layers made later (or at the same time) was built on it.
    twin_new = twin_old | {"Created": "2026-11-28T09:00:00.5Z"}
    assert base_by_layers(app, [base, twin_new])[0] == "example/base:1"
    # Among images with the same prefix, the oldest is the one the others were built on.
    newer = base | {"Id": "sha256:" + "e" * 64, "RepoTags": ["aa:1"], "Created": "2026-11-28Z"}
    base_old = base | {"Created": "2026-11-01T00:00:00Z"}
    assert base_by_layers(app, [newer, base_old])[0] == "example/base:1"


def engine_with(stack: str) -> FakeEngine:
    images = captured(stack)
    return FakeEngine(
        settings_for(Path("/nonexistent-dockyard-project")),
        images=images,
        histories={CHILD: history_rows(stack, "child"), PYTHON: history_rows(stack, "base")},
    )


@pytest.mark.parametrize("stack", STACKS)
def test_find_base_uses_layers_only_when_nothing_names_the_base(stack: str) -> None:
    engine = engine_with(stack)
    child = captured(stack)[CHILD]
    info = find_base(engine, ImageTarget(CHILD), child)
    layers = tuple(captured(stack)[PYTHON]["RootFS"]["Layers"])
    assert info == BaseInfo(PYTHON, BY_LAYERS, layers, known=True)
    assert engine.calls == [("local images",)]  # one batched listing, not a call per image
    engine.calls.clear()
    named = find_base(engine, ImageTarget(CHILD), child, override=POSTGRES)
    assert (named.reference, named.source) == (POSTGRES, "--base")
    labelled = copy.deepcopy(child)
    labelled["Config"]["Labels"] = {"org.opencontainers.image.base.name": POSTGRES}
    by_label = find_base(engine, ImageTarget(CHILD), labelled)
    assert by_label.source == "label org.opencontainers.image.base.name"
    assert engine.calls == []


@pytest.mark.parametrize("stack", STACKS)
def test_history_marks_the_base_found_by_layers(stack: str) -> None:
    engine = engine_with(stack)
    history = image_history(engine, ImageTarget(CHILD))
    assert [row.base for row in history.rows] == [False, False, True]
    assert [row.instruction for row in history.rows[:2]] == [
        "ENV X=1",
        "RUN echo hi > /hello.txt",
    ]
    out = render.make_console(file=io.StringIO(), width=80, color_system=None)
    render_image.print_history(out, history)
    file = out.file
    assert isinstance(file, io.StringIO)
    assert file.getvalue().splitlines()[-1] == f"base found by layers: {PYTHON}"


def test_inspect_layers_counts_only_the_new_layers_as_the_users() -> None:
    base = inspect_data(BASE, "sha256:" + "b" * 64) | {"RepoTags": ["example/base:1"]}
    app = inspect_data(CORE, "sha256:" + "a" * 64) | {"RepoTags": ["example/app:1"]}
    engine = FakeEngine(
        settings_for(Path("/nonexistent-dockyard-project")),
        images={"example/app:1": app, "example/base:1": base},
        archives={"example/app:1": oci_archive(CORE)},
    )
    result = inspect_layers(
        engine, ImageTarget("example/app:1"), choice=GateRulesChoice(GateRules())
    )
    assert result.base.source == BY_LAYERS and result.notes == ()
    assert result.analysis.base_layer_count == 2
    out = render.make_console(file=io.StringIO(), width=80, color_system=None)
    render_image.print_inspection(out, result)
    file = out.file
    assert isinstance(file, io.StringIO)
    assert "base found by layers: example/base:1: layers 0-1" in file.getvalue().splitlines()


@pytest.mark.parametrize("stack", STACKS)
def test_engine_lists_every_local_image_with_one_ls_and_one_inspect(
    stack: str, tmp_path: Path
) -> None:
    """`Engine.local_images` through a stand-in `docker` that answers with the captures and
    writes down each command line it was given."""
    import sys
    from typing import cast

    from dockyard.engine import Engine

    items = json.loads((DATA / f"{stack}.inspect.json").read_text(encoding="utf-8"))
    ids = sorted(item["Id"] for item in items)
    calls = tmp_path / "calls.jsonl"
    script = (
        "import json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"items = json.load(open({str(DATA / f'{stack}.inspect.json')!r}))\n"
        "if sys.argv[1:3] == ['image', 'ls']:\n"
        "    print('\\n'.join(i['Id'] for i in items + items[:1]))\n"  # a second tag: same id
        "else:\n"
        "    print('\\n'.join(json.dumps(i) for i in items if i['Id'] in sys.argv[5:]))\n"
    )

    class Client:
        def __init__(self) -> None:
            self.docker_cmd = [sys.executable, "-c", script]

    engine = Engine(settings_for(tmp_path), client=cast(Any, Client()))
    found = engine.local_images()
    assert sorted(item["Id"] for item in found) == ids
    commands = [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]
    assert commands == [
        ["image", "ls", "--quiet", "--no-trunc"],
        ["image", "inspect", "--format", "{{json .}}", *ids],
    ]
