"""dockyard.image.analysis on the core scenario (tests/image_archives.py, numbers worked out by
hand) in every archive format: whole-image and user figures, per layer, wasteful paths, base."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from dockyard.image.analysis import LayerFile, WastedPath, base_prefix_length
from tests.image_archives import BASE_IDS, CORE, Image, analyse, oci_archive


def test_core_whole_image_and_user_figures(build: Callable[[Image], bytes]) -> None:
    result = analyse(build(CORE), base_layer_ids=BASE_IDS)

    assert result.total_bytes == 20120
    assert result.visible_bytes == 6310
    assert result.wasted_bytes == 13810
    assert result.efficiency == pytest.approx(6310 / 20120)
    assert result.user_bytes == 11720
    assert result.user_visible_bytes == 5110
    assert result.user_wasted_bytes == 6610
    assert result.user_efficiency == pytest.approx(5110 / 11720)
    assert result.base_shadowed_bytes == 6200
    assert result.base_layer_count == 2
    assert result.base_matched is True
    assert result.file_count == 5  # base.conf, libbig.so, keep.txt, link, opt/new


def test_core_per_layer(build: Callable[[Image], bytes]) -> None:
    result = analyse(build(CORE), base_layer_ids=BASE_IDS)
    rows = [
        (
            layer.index,
            layer.is_base,
            layer.size,
            layer.cumulative_size,
            layer.added,
            layer.changed,
            layer.removed,
            layer.wasted_bytes,
        )
        for layer in result.layers
    ]
    assert rows == [
        (0, True, 6500, 6500, 4, 0, 0, 6500),
        (1, True, 1900, 8400, 1, 1, 0, 700),
        (2, False, 4210, 12610, 5, 0, 0, 4110),
        (3, False, 7500, 20110, 0, 2, 4, 2500),
        (4, False, 10, 20120, 1, 0, 2, 0),
    ]
    assert [layer.diff_id for layer in result.layers] == CORE.diff_ids
    assert [layer.instruction for layer in result.layers] == [
        "ADD file:4b03b5f551e3fbdf47ec609712007 in /",
        "RUN apt-get install -y tool",
        "RUN make data",
        "RUN make again",
        "RUN rm /app/data.bin",
    ]
    assert result.layers[0].largest_files[:2] == (
        LayerFile("usr/lib/libbig.so", 5000),
        LayerFile("etc/base.conf", 1000),
    )
    assert result.user_layers == result.layers[2:]


def test_core_wasteful_paths(build: Callable[[Image], bytes]) -> None:
    result = analyse(build(CORE), base_layer_ids=BASE_IDS, top_n=20)
    assert result.wasteful_paths == (
        WastedPath("app/data.bin", 2, 6500, 6500, True, (2, 3)),
        WastedPath("app/cache/y", 1, 60, 60, True, (2,)),
        WastedPath("app/cache/x", 1, 50, 50, True, (2,)),
        WastedPath("usr/lib/libbig.so", 2, 5000, 0, False, (0, 3)),
        WastedPath("etc/base.conf", 2, 1000, 0, False, (0, 1)),
        WastedPath("opt/tool", 1, 700, 0, True, (1,)),
        WastedPath("usr/share/doc/a", 1, 300, 0, True, (0,)),
        WastedPath("usr/share/doc/b", 1, 200, 0, True, (0,)),
    )
    assert sum(path.wasted_bytes for path in result.wasteful_paths) == result.wasted_bytes
    assert len(analyse(build(CORE), top_n=3).wasteful_paths) == 3


def test_without_base_every_layer_is_the_users() -> None:
    """What dive does with a multi-layer base: then base bytes become the user's waste."""
    result = analyse(oci_archive(CORE))
    assert result.base_layer_count == 0
    assert result.user_bytes == result.total_bytes == 20120
    assert result.user_wasted_bytes == result.wasted_bytes == 13810
    assert result.base_shadowed_bytes == 0
    assert not any(layer.is_base for layer in result.layers)


def test_base_layer_count_and_mismatched_base() -> None:
    data = oci_archive(CORE)
    assert analyse(data, base_layer_count=2).user_wasted_bytes == 6610
    mismatched = analyse(data, base_layer_ids=[CORE.diff_ids[0], "sha256:" + "0" * 64])
    assert mismatched.base_layer_count == 1
    assert mismatched.base_matched is False
    # Only L0 is base now: L1's overwrite of base.conf and its opt/tool become the user's.
    assert mismatched.user_wasted_bytes == 6610 + 700


def test_to_dict_is_json_ready() -> None:
    result = analyse(oci_archive(CORE), base_layer_ids=BASE_IDS, top_n=2)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["user_wasted_bytes"] == 6610
    assert data["layers"][3]["largest_files"][0] == {"path": "usr/lib/libbig.so", "size": 5000}
    assert data["wasteful_paths"][0]["path"] == "app/data.bin"
    assert data["format"] == "oci"


def test_base_prefix_length() -> None:
    assert base_prefix_length(["a", "b", "c"], ["a", "b"]) == 2
    assert base_prefix_length(["a", "b"], ["a", "b"]) == 2
    assert base_prefix_length(["a", "b"], ["x"]) == 0
    assert base_prefix_length(["a", "b"], []) == 0
    assert base_prefix_length(["a"], ["a", "b"]) == 1  # base longer than the image


def test_reading_and_counting_need_only_the_standard_library() -> None:
    """scripts/bench_inspect_layers.py measures analyse_archive's memory in a fresh process:
    importing the analysis loads no engine, settings, ledger or third-party module."""
    code = "import sys, dockyard.image.analysis; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stdout.split()
    assert sorted(name for name in loaded if name.startswith("dockyard")) == [
        "dockyard",
        "dockyard.errors",
        "dockyard.image",
        "dockyard.image.analysis",
        "dockyard.image.archive",
        "dockyard.image.instruction",
        "dockyard.image.layout",
        "dockyard.image.overlay",
        "dockyard.imageref",
    ]
    assert not {"rich", "python_on_whales", "pydantic", "dotenv", "invoke"} & set(loaded)
