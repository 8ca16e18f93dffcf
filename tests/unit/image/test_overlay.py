"""dockyard.image.overlay through the analysis: copies, overwrites, whiteouts, opaque
directories, type changes, hardlinks and symlinks, with exact byte counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dockyard.image.analysis import LayerFile, WastedPath
from tests.image_archives import (
    HARD,
    OPQ,
    SYM,
    WH,
    D,
    F,
    Image,
    analyse,
    docker_archive,
    layer_tar,
    oci_archive,
    one_image,
)


@pytest.mark.parametrize("make", [docker_archive, oci_archive])
def test_duplicate_written_three_times_wastes_two_copies(make: Callable[..., bytes]) -> None:
    image = one_image(layer_tar(F("a/f", 100)), layer_tar(F("a/f", 100)), layer_tar(F("a/f", 100)))
    result = analyse(make(image))
    assert (result.total_bytes, result.wasted_bytes, result.visible_bytes) == (300, 200, 100)
    assert result.wasteful_paths == (WastedPath("a/f", 3, 200, 200, False, (0, 1, 2)),)
    assert [layer.changed for layer in result.layers] == [0, 1, 1]


def test_overwrite_by_larger_file_wastes_only_the_smaller() -> None:
    """dive#684: dive reports 1,000,000 + 2,000,000 here; the waste is the hidden 1,000,000."""
    image = one_image(layer_tar(F("big", 1_000_000)), layer_tar(F("big", 2_000_000)))
    result = analyse(oci_archive(image))
    assert result.wasted_bytes == 1_000_000
    assert result.efficiency == pytest.approx(2 / 3)


def test_written_then_deleted_wastes_all_copies() -> None:
    image = one_image(
        layer_tar(F("tmp/a", 700)), layer_tar(F("tmp/a", 300)), layer_tar(D("tmp"), WH("tmp/a"))
    )
    result = analyse(oci_archive(image))
    assert result.wasted_bytes == 1000
    assert result.visible_bytes == 0
    assert result.efficiency == 0.0
    assert result.wasteful_paths == (WastedPath("tmp/a", 2, 1000, 1000, True, (0, 1)),)
    assert result.layers[2].removed == 1


def test_deleted_directory_removes_everything_below() -> None:
    image = one_image(
        layer_tar(D("d"), F("d/x", 10), D("d/sub"), F("d/sub/y", 20), F("keep", 5)),
        layer_tar(WH("d")),
    )
    result = analyse(oci_archive(image))
    assert result.wasted_bytes == 30
    assert result.layers[1].removed == 2
    assert result.file_count == 1


def test_opaque_directory_hides_lower_but_keeps_same_layer_files() -> None:
    image = one_image(
        layer_tar(D("o"), F("o/old", 40), D("o/sub"), F("o/sub/old", 60), F("other", 1)),
        layer_tar(D("o"), OPQ("o"), F("o/new", 7), F("o/old", 3)),
    )
    result = analyse(oci_archive(image))
    assert result.wasted_bytes == 100
    assert result.visible_bytes == 11
    layer = result.layers[1]
    # o/old was hidden by the opaque dir first, so writing it again counts as added.
    assert (layer.added, layer.changed, layer.removed) == (2, 0, 2)


def test_directories_are_not_files() -> None:
    image = one_image(
        layer_tar(D("a"), D("a/b"), D("a/b/c")),
        layer_tar(D("a"), D("a/b"), D("a/b/c")),
        layer_tar(WH("a")),
    )
    result = analyse(docker_archive(image, link_duplicates=False))
    assert result.total_bytes == result.wasted_bytes == 0
    assert result.efficiency == result.user_efficiency == 1.0
    assert result.wasteful_paths == ()
    assert [(lay.added, lay.changed, lay.removed) for lay in result.layers] == [(0, 0, 0)] * 3


def test_type_changes_file_to_directory_and_back() -> None:
    image = one_image(
        layer_tar(F("x", 10), D("y"), F("y/inner", 20)),
        layer_tar(D("x"), F("x/now-a-dir", 1), F("y", 2)),
    )
    result = analyse(oci_archive(image))
    assert result.wasted_bytes == 30
    assert (result.layers[1].added, result.layers[1].removed) == (2, 2)


def test_hardlink_is_zero_bytes_and_keeps_its_target_alive() -> None:
    kept = one_image(
        layer_tar(F("data", 6), HARD("alias", "data")),
        layer_tar(WH("data")),
    )
    result = analyse(oci_archive(kept))
    assert result.total_bytes == 6
    assert result.wasted_bytes == 0  # "alias" still reaches the bytes
    gone = one_image(
        layer_tar(F("data", 6), HARD("alias", "data")),
        layer_tar(WH("data"), WH("alias")),
    )
    assert analyse(oci_archive(gone)).wasted_bytes == 6


def test_same_path_twice_in_one_layer_the_later_wins() -> None:
    image = one_image(layer_tar(F("p", 9), F("p", 4)))
    result = analyse(oci_archive(image))
    assert (result.wasted_bytes, result.visible_bytes) == (9, 4)
    assert (result.layers[0].added, result.layers[0].changed) == (1, 0)


def test_symlinks_count_as_files_of_size_zero() -> None:
    image = one_image(layer_tar(SYM("l", "t"), F("t", 3)), layer_tar(SYM("l", "other")))
    result = analyse(oci_archive(image))
    assert result.layers[1].changed == 1
    assert result.wasted_bytes == 0
    assert result.wasteful_paths == ()


def test_long_paths_and_dot_prefixed_names() -> None:
    long = "deep/" + "n" * 150 + "/file"
    image = one_image(layer_tar(F(long, 8), F("./dot/file", 2)), layer_tar(WH(long)))
    result = analyse(oci_archive(image))
    assert result.wasteful_paths[0].path == long
    assert result.wasted_bytes == 8
    assert result.layers[0].largest_files == (LayerFile(long, 8), LayerFile("dot/file", 2))


def test_empty_image_has_efficiency_one() -> None:
    result = analyse(oci_archive(Image([], [])))
    assert result.layers == ()
    assert (result.efficiency, result.user_efficiency, result.total_bytes) == (1.0, 1.0, 0)
