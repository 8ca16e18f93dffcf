"""dockyard.image.base: the base image from `--base`, the Dockerfile's final stage, the label,
FROM scratch (and `Dockerfile.final_base`, which it relies on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerfile import DockerfileSyntaxError, parse
from dockyard.errors import ImageNotFound
from dockyard.image.base import BASE_LABEL, BaseInfo
from dockyard.image.gate import GateRules, GateRulesChoice
from dockyard.image.inspection import inspect_layers
from dockyard.image.targets import ImageTarget, resolve_target
from tests.unit.image.project import APP_DOCKERFILE, app_project

REPO = Path(__file__).resolve().parents[3]


def test_final_stage_base_follows_stage_names_back() -> None:
    dockerfile = parse(APP_DOCKERFILE)
    assert dockerfile.final_base({"BASE": "example/base:1"}) == "example/base:1"
    assert dockerfile.final_base() == "example/unused:1"  # the ARG default


def test_final_stage_base_of_the_last_stage_not_the_first() -> None:
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build /x /x\n"
    assert parse(text).final_base() == "alpine:3.20"
    assert parse(text).final_base(target="build") == "golang:1.22"
    assert parse(text).final_base(target="BUILD") == "golang:1.22"  # case-blind


def test_final_stage_base_scratch_and_no_from() -> None:
    text = "FROM python:3.11 AS b\nRUN x\nFROM scratch AS out\nCOPY --from=b /x /x\nFROM out\n"
    assert parse(text).final_base() == "scratch"
    assert parse("ARG ONLY=1\n").final_base() is None
    with pytest.raises(DockerfileSyntaxError, match="file with no instructions"):
        parse("# nothing here\n")


def test_final_stage_base_of_the_bundled_backend() -> None:
    text = (REPO / "backend" / "Dockerfile.optimized").read_text(encoding="utf-8")
    args = {"PYTHON_IMAGE": "dockyard-local/python:3.11-slim", "CACHE_ID": "x"}
    assert parse(text).final_base(args) == "dockyard-local/python:3.11-slim"
    assert parse(text).final_base() == "python:3.11-slim"


def test_inspect_layers_with_base_flag_label_and_scratch(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    plain = ImageTarget("example/app:1")
    rules = GateRulesChoice(GateRules())
    named = inspect_layers(engine, plain, choice=rules, base="example/base:1")
    assert (named.base.source, named.analysis.base_layer_count) == ("--base", 2)
    with pytest.raises(ImageNotFound):
        inspect_layers(engine, plain, choice=rules, base="nosuch:1")

    engine.images["example/app:1"]["Config"]["Labels"] = {BASE_LABEL: "example/base:1"}
    labelled = inspect_layers(engine, plain, choice=rules)
    assert labelled.base.source == f"label {BASE_LABEL}"
    assert labelled.analysis.base_layer_count == 2

    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\nCOPY x /\n", encoding="utf-8")
    scratch = inspect_layers(engine, resolve_target(engine, "app"), choice=rules)
    assert scratch.base == BaseInfo(
        None, "final stage of app/Dockerfile: FROM scratch", (), known=True
    )
    assert scratch.notes == ()
