"""dockyard.image.base: the base image from `--base`, the Dockerfile's final stage, the label,
FROM scratch (`Dockerfile.final_base` itself is tested in tests/unit/test_dockerfile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import ImageNotFound
from dockyard.image.base import BASE_LABEL, BaseInfo
from dockyard.image.gate import GateRules, GateRulesChoice
from dockyard.image.inspection import inspect_layers
from dockyard.image.targets import ImageTarget, resolve_target
from tests.unit.image.project import app_project

REPO = Path(__file__).resolve().parents[3]


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
