"""dockyard.image.inspection end to end through the shared FakeEngine: `docker save` of the core
scenario image, its base from the Dockerfile, the gate, the notes, `to_dict()`."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.image.base import BaseInfo
from dockyard.image.gate import GateRules, GateRulesChoice, gate_rules
from dockyard.image.inspection import inspect_layers
from dockyard.image.targets import ImageTarget, resolve_target
from tests.image_archives import CORE, D, F, Image, layer_tar
from tests.unit.image.project import BASE, app_project, inspect_data


def test_inspect_layers_end_to_end_with_the_dockerfile_base(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    target = resolve_target(engine, "app")
    choice = gate_rules(engine.settings, target)
    result = inspect_layers(engine, target, choice=choice, top=3)

    assert engine.saved == ["example/app:1"]
    assert result.base == BaseInfo(
        "example/base:1", "final stage of app/Dockerfile", tuple(BASE.diff_ids), known=True
    )
    analysis = result.analysis
    assert analysis.base_layer_count == 2
    assert (analysis.user_bytes, analysis.user_wasted_bytes) == (11720, 6610)
    assert [g.status for g in result.gate] == ["FAIL", "PASS"]
    assert result.status == "FAIL"
    assert result.notes == ()
    failure = result.failure()
    assert failure is not None
    assert failure.message == ("layer gate FAIL for app: user efficiency 43.6% < minimum 90.0%")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["gate"]["status"] == "FAIL"
    assert data["gate"]["rules"] == {
        "min_efficiency": 0.9,
        "max_wasted_bytes": 20_000_000,
        "max_size": None,
        "warn_ratio": 0.1,
    }
    assert data["analysis"]["user_wasted_bytes"] == 6610
    assert data["base"]["reference"] == "example/base:1"
    assert len(data["analysis"]["layers"][2]["largest_files"]) == 3


def test_inspect_layers_without_a_known_base_says_so(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    engine.images.pop("example/base:1")
    app = resolve_target(engine, "app")
    rules = GateRulesChoice(GateRules(max_wasted_bytes=10_000))
    missing = inspect_layers(engine, app, choice=rules)
    assert missing.analysis.base_layer_count == 0
    assert missing.notes == (
        "base image example/base:1 (final stage of app/Dockerfile) is not in the engine: "
        "every layer counted as yours (name the base with --base IMAGE)",
    )
    assert [g.status for g in missing.gate] == ["FAIL"]  # 13810 B, base waste included
    plain = inspect_layers(engine, ImageTarget("example/app:1"), choice=rules)
    assert plain.notes[0].startswith("base image unknown: every layer counted as yours")


def test_inspect_layers_notes_a_base_that_changed_since_the_build(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rebuilt = Image([CORE.layers[0], layer_tar(D("etc"), F("etc/base.conf", 9))], BASE.history)
    engine.images["example/base:1"] = inspect_data(rebuilt, "sha256:new")
    result = inspect_layers(
        engine, resolve_target(engine, "app"), choice=GateRulesChoice(GateRules())
    )
    assert result.analysis.base_layer_count == 1
    assert "only the 1 bottom layers they share count as base" in result.notes[0]
