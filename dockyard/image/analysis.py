"""Sizes, waste and efficiency of an image, from one read of its `docker save` stream.

`analyse_archive` returns plain dataclasses: the same `ImageAnalysis` feeds the table, `--json`
(`to_dict()`) and the gate. The base image's layers are left out of the user's figures. How
waste is counted, and why it differs from dive: README "Looking inside the images".
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from dockyard.image.archive import DIR, ArchiveError, ArchiveScan, LayerScan, scan_archive
from dockyard.image.layout import ArchiveFormat, ImageLayout, read_layout
from dockyard.image.overlay import LayerChanges, Overlay


@dataclass(frozen=True)
class LayerFile:
    """One file a layer writes: path inside the image (no leading slash) and size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class LayerReport:
    """One layer, bottom (index 0) to top.

    `digest`: the blob's digest (OCI) or its path in the archive (docker-archive); `diff_id`: the
    uncompressed layer's id from the config (`RootFS.Layers`). `size`: bytes of the files the layer
    stores (tar member sizes, directories 0); `blob_size`: the blob as stored in the archive
    (compressed if `compression` is not "none"). `added`: files not visible before this layer;
    `changed`: visible files written again; `removed`: visible files hidden by this layer
    (whiteouts, opaque directories, a file replaced by a directory). `wasted_bytes`: bytes of this
    layer's copies that are not visible in the final image.
    """

    index: int
    digest: str
    diff_id: str
    size: int
    cumulative_size: int
    instruction: str
    is_base: bool
    added: int
    changed: int
    removed: int
    wasted_bytes: int
    largest_files: tuple[LayerFile, ...]
    blob_size: int
    compression: str


@dataclass(frozen=True)
class WastedPath:
    """A path with copies that are stored but not visible.

    `copies`: how many layers wrote it; `layers`: their indexes; `wasted_bytes`: bytes of the copies
    that are not visible (whole image); `user_wasted_bytes`: the part stored in user layers.
    """

    path: str
    copies: int
    wasted_bytes: int
    user_wasted_bytes: int
    deleted_at_end: bool
    layers: tuple[int, ...]


@dataclass(frozen=True)
class ImageAnalysis:
    """Everything the table, `--json` and the CI gate need.

    Whole image: stored = all copies, wasted = stored - visible, efficiency = visible / stored
    (1.0 with no bytes). The `user_*` figures count only copies stored in the layers above the
    base's. A base copy that a user layer overwrites or deletes is whole-image waste, reported as
    `base_shadowed_bytes`, never the user's. `base_matched` is False when base layer ids were
    given but are not all a prefix of this image's layers (then `base_layer_count` is the length
    of the common prefix).
    """

    format: ArchiveFormat
    image: str
    layers: tuple[LayerReport, ...]
    base_layer_count: int
    base_matched: bool
    file_count: int
    total_bytes: int
    visible_bytes: int
    wasted_bytes: int
    efficiency: float
    user_bytes: int
    user_visible_bytes: int
    user_wasted_bytes: int
    user_efficiency: float
    base_shadowed_bytes: int
    wasteful_paths: tuple[WastedPath, ...]

    @property
    def user_layers(self) -> tuple[LayerReport, ...]:
        return self.layers[self.base_layer_count :]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what `--json` prints)."""
        return dataclasses.asdict(self)


def base_prefix_length(image_diff_ids: Sequence[str], base_diff_ids: Sequence[str]) -> int:
    """How many of the image's bottom layers are the base image's.

    The base image's layer list (`docker image inspect BASE` -> RootFS.Layers) is normally a prefix
    of the image's; if it is not (the base was rebuilt since), this is the length of the common
    prefix, i.e. the layers that certainly came from it.
    """
    count = 0
    for mine, theirs in zip(image_diff_ids, base_diff_ids, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def analyse_archive(
    stream: IO[bytes],
    *,
    base_layer_ids: Sequence[str] = (),
    base_layer_count: int | None = None,
    image: str | None = None,
    top_n: int = 10,
) -> ImageAnalysis:
    """Analyse the image in a `docker save` stream (read once, never unpacked).

    `base_layer_ids`: the base image's diff ids (`docker image inspect BASE` -> RootFS.Layers);
    the image's layers that they prefix are marked as base. `base_layer_count` sets the number
    directly instead. With neither, every layer counts as the user's. `image`: which image of a
    multi-image archive (default: the first). `top_n`: largest files per layer and most wasteful
    paths to list. Raises ArchiveError when the stream is not a readable image.
    """
    scan = scan_archive(stream)
    layout = read_layout(scan, image)
    for ref in layout.layers:
        member = scan.resolve(ref.member)
        if member in scan.problems:
            raise ArchiveError(
                f"layer {ref.digest}: {scan.problems[member]}",
                "save the image from the classic image store, or install 'zstandard'"
                if "zstd" in scan.problems[member]
                else "check that `docker save` finished",
            )
        if member not in scan.layers:
            raise ArchiveError(f"layer {ref.digest} is missing from the archive")
    diff_ids = [ref.diff_id for ref in layout.layers]
    if base_layer_count is not None:
        base_count = max(0, min(base_layer_count, len(layout.layers)))
        matched = base_count == base_layer_count
    else:
        base_count = base_prefix_length(diff_ids, base_layer_ids)
        matched = base_count == len(base_layer_ids)
    return _account(scan, layout, base_count, matched, max(top_n, 0))


def _account(
    scan: ArchiveScan, layout: ImageLayout, base_count: int, matched: bool, top_n: int
) -> ImageAnalysis:
    overlay = Overlay()
    last_use = {scan.resolve(ref.member): i for i, ref in enumerate(layout.layers)}
    changes: list[LayerChanges] = []
    largest: list[tuple[LayerFile, ...]] = []
    layer_scans: list[LayerScan] = []
    for index, ref in enumerate(layout.layers):
        member = scan.resolve(ref.member)
        layer = scan.layers[member]
        layer_scans.append(layer)
        changes.append(overlay.apply(index, layer))
        files = heapq.nsmallest(top_n, ((-s, p) for p, s, k in layer.entries if k != DIR and s > 0))
        largest.append(tuple(LayerFile(path, -neg) for neg, path in files))
        if last_use[member] == index:
            layer.entries = []  # metadata no longer needed; keep sizes only
            layer.hardlinks = {}

    reached = overlay.reached_by_hardlinks()
    layer_waste = [0] * len(layout.layers)
    total = visible = user_total = user_visible = shadowed = 0
    candidates: list[WastedPath] = []
    for path, copies in overlay.copies.items():
        wasted = user_wasted = 0
        for copy in copies:
            user = copy.layer >= base_count
            total += copy.size
            if user:
                user_total += copy.size
            if copy.kept(path, reached):
                visible += copy.size
                if user:
                    user_visible += copy.size
                continue
            wasted += copy.size
            layer_waste[copy.layer] += copy.size
            if user:
                user_wasted += copy.size
            elif copy.hidden_by >= base_count:
                shadowed += copy.size
        if wasted:
            candidates.append(
                WastedPath(
                    path=path,
                    copies=len(copies),
                    wasted_bytes=wasted,
                    user_wasted_bytes=user_wasted,
                    deleted_at_end=path not in overlay.visible,
                    layers=tuple(copy.layer for copy in copies),
                )
            )
    worst = heapq.nsmallest(
        top_n, candidates, key=lambda w: (-w.user_wasted_bytes, -w.wasted_bytes, w.path)
    )

    reports: list[LayerReport] = []
    cumulative = 0
    for index, ref in enumerate(layout.layers):
        change = changes[index]
        cumulative += change.size
        reports.append(
            LayerReport(
                index=index,
                digest=ref.digest,
                diff_id=ref.diff_id,
                size=change.size,
                cumulative_size=cumulative,
                instruction=ref.instruction,
                is_base=index < base_count,
                added=change.added,
                changed=change.changed,
                removed=change.removed,
                wasted_bytes=layer_waste[index],
                largest_files=largest[index],
                blob_size=layer_scans[index].blob_size,
                compression=layer_scans[index].compression,
            )
        )
    return ImageAnalysis(
        format=layout.format,
        image=layout.image,
        layers=tuple(reports),
        base_layer_count=base_count,
        base_matched=matched,
        file_count=len(overlay.visible),
        total_bytes=total,
        visible_bytes=visible,
        wasted_bytes=total - visible,
        efficiency=visible / total if total else 1.0,
        user_bytes=user_total,
        user_visible_bytes=user_visible,
        user_wasted_bytes=user_total - user_visible,
        user_efficiency=user_visible / user_total if user_total else 1.0,
        base_shadowed_bytes=shadowed,
        wasteful_paths=tuple(worst),
    )
