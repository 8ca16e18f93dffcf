"""dockyard.image.gate: rules from flags and settings, PASS / WARN / FAIL with their reasons."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.errors import SettingsError
from dockyard.image.analysis import ImageAnalysis
from dockyard.image.gate import GateResult, GateRules, evaluate_gate, gate_rules, gate_status
from dockyard.image.targets import ImageTarget
from tests.image_archives import BASE_IDS, CORE, F, analyse, layer_tar, oci_archive, one_image
from tests.unit.image.project import settings_for


def with_user(efficiency: float, wasted: int, total: int) -> ImageAnalysis:
    """A real analysis with the figures the gate reads replaced."""
    result = analyse(oci_archive(one_image(layer_tar(F("a", 1)))))
    return dataclasses.replace(
        result, user_efficiency=efficiency, user_wasted_bytes=wasted, total_bytes=total
    )


def test_gate_pass_warn_fail_with_reasons() -> None:
    rules = GateRules(min_efficiency=0.9, max_wasted_bytes=20_000_000, max_size=500_000_000)
    passing = evaluate_gate(with_user(0.95, 1_000_000, 191_000_000), rules)
    assert passing == [
        GateResult("min_efficiency", "PASS", "user efficiency 95.0% >= minimum 90.0%", 0.95, 0.9),
        GateResult(
            "max_wasted_bytes",
            "PASS",
            "user wasted bytes 1.0 MB (1000000 B) <= limit 20.0 MB",
            1_000_000,
            20_000_000,
        ),
        GateResult(
            "max_size", "PASS", "image size 191.0 MB (191000000 B) <= limit 500.0 MB", 191e6, 500e6
        ),
    ]
    assert gate_status(passing) == "PASS"

    warning = evaluate_gate(with_user(0.905, 19_000_000, 460_000_000), rules)
    assert [result.status for result in warning] == ["WARN", "WARN", "WARN"]
    assert warning[0].reason == "user efficiency 90.5% is within 10% of the minimum 90.0%"
    assert warning[1].reason == (
        "user wasted bytes 19.0 MB (19000000 B) is within 10% of the limit 20.0 MB"
    )
    assert gate_status(warning) == "WARN"

    failing = evaluate_gate(with_user(0.5, 30_000_000, 10), rules, image_size=600_000_000)
    assert [result.status for result in failing] == ["FAIL", "FAIL", "FAIL"]
    assert failing[0].reason == "user efficiency 50.0% < minimum 90.0%"
    assert failing[2].reason == "image size 600.0 MB (600000000 B) > limit 500.0 MB"
    assert gate_status(failing) == "FAIL"


def test_gate_edges() -> None:
    assert evaluate_gate(with_user(0.0, 0, 0), GateRules()) == []
    assert GateRules().empty
    assert gate_status([]) == "PASS"
    exact = evaluate_gate(with_user(1.0, 0, 0), GateRules(min_efficiency=1.0, max_wasted_bytes=0))
    assert [result.status for result in exact] == ["PASS", "PASS"]
    nothing = evaluate_gate(
        with_user(0.999, 1, 0), GateRules(min_efficiency=1.0, max_wasted_bytes=0)
    )
    assert [result.status for result in nothing] == ["FAIL", "FAIL"]
    # warn_ratio 0: never WARN
    edge = evaluate_gate(with_user(0.9, 20, 0), GateRules(0.9, 20, warn_ratio=0.0))
    assert [result.status for result in edge] == ["PASS", "PASS"]


def test_gate_on_a_real_analysis() -> None:
    result = analyse(oci_archive(CORE), base_layer_ids=BASE_IDS)
    gate = evaluate_gate(result, GateRules(min_efficiency=0.4, max_wasted_bytes=6610))
    assert [(r.rule, r.status) for r in gate] == [
        ("min_efficiency", "WARN"),  # 43.6%: inefficiency 56.4% > 90% of the allowed 60%
        ("max_wasted_bytes", "WARN"),
    ]


def test_gate_rules_flags_replace_settings(tmp_path: Path) -> None:
    limits = replace(settings_for(tmp_path), size_budgets={"app": 5000})
    app = ImageTarget("example/app:1", "app", ("app",), True)
    assert gate_rules(limits, app).rules == GateRules(0.9, 20_000_000, 5000)
    chosen = gate_rules(limits, app, min_efficiency="95%", max_wasted="1kB", max_size="2MB")
    assert chosen.rules == GateRules(0.95, 1000, 2_000_000)
    assert chosen.size_source == "--max-size"
    off = gate_rules(limits, app, min_efficiency="off", max_wasted="off", max_size="off")
    assert off.rules == GateRules(None, None, None)
    with pytest.raises(SettingsError, match="--min-efficiency"):
        gate_rules(limits, app, min_efficiency="most")
