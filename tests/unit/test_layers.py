"""dockyard.layers without Docker: image archives built here with tarfile, in both `docker save`
formats, members shuffled (blobs before index.json / manifest.json), with exact byte counts."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import random
import tarfile
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockyard.layers import (
    ArchiveError,
    GateResult,
    GateRules,
    ImageAnalysis,
    LayerFile,
    WastedPath,
    analyse_archive,
    base_prefix_length,
    clean_instruction,
    evaluate_gate,
    gate_status,
    one_line,
)

HISTORY = Path(__file__).resolve().parents[1] / "data" / "history"

# --------------------------------------------------------------------------- archive builders

Entry = tuple[str, ...]


def F(path: str, size: int) -> Entry:
    return ("f", path, str(size))


def D(path: str) -> Entry:
    return ("d", path)


def SYM(path: str, target: str) -> Entry:
    return ("l", path, target)


def HARD(path: str, target: str) -> Entry:
    return ("h", path, target)


def WH(path: str) -> Entry:
    """Whiteout: delete path (and everything under it)."""
    head, _, name = path.rpartition("/")
    return ("f", f"{head}/.wh.{name}" if head else f".wh.{name}", "0")


def OPQ(directory: str) -> Entry:
    """Opaque whiteout: hide everything under directory from lower layers."""
    return ("f", f"{directory}/.wh..wh..opq", "0")


def add_member(archive: tarfile.TarFile, name: str, data: bytes = b"", **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    for key, value in attrs.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if data else None)


def layer_tar(*entries: Entry) -> bytes:
    """A layer tar as Docker writes one (no leading ./, directories with a trailing slash)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            kind, path = entry[0], entry[1]
            if kind == "f":
                add_member(archive, path, b"x" * int(entry[2]), mode=0o644)
            elif kind == "d":
                add_member(archive, path + "/", type=tarfile.DIRTYPE, mode=0o755)
            elif kind == "l":
                add_member(archive, path, type=tarfile.SYMTYPE, linkname=entry[2])
            elif kind == "h":
                add_member(archive, path, type=tarfile.LNKTYPE, linkname=entry[2])
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    layers: list[bytes]
    history: list[dict[str, Any]]
    tag: str = "example/app:1"
    extra_config: dict[str, Any] = field(default_factory=dict)

    def config(self) -> bytes:
        doc = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["app"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in self.layers]},
            "history": self.history,
            **self.extra_config,
        }
        return json.dumps(doc).encode()

    @property
    def diff_ids(self) -> list[str]:
        return [sha(layer) for layer in self.layers]


def write_archive(members: Sequence[tuple[str, bytes | str]]) -> bytes:
    """A tar of (name, data) members; data given as str is a symlink target."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            if isinstance(data, str):
                add_member(archive, name, type=tarfile.SYMTYPE, linkname=data)
            else:
                add_member(archive, name, data, mode=0o644)
    return buffer.getvalue()


def docker_archive(*images: Image, seed: int = 1, link_duplicates: bool = True) -> bytes:
    """The pre-25 `docker save` layout: <id>/layer.tar, <config>.json, manifest.json last."""
    members: list[tuple[str, bytes | str]] = []
    manifest = []
    first_dir: dict[bytes, str] = {}
    for number, image in enumerate(images):
        paths = []
        for index, layer in enumerate(image.layers):
            layer_id = hashlib.sha256(f"{number}/{index}".encode() + layer).hexdigest()
            paths.append(f"{layer_id}/layer.tar")
            members.append((f"{layer_id}/VERSION", b"1.0"))
            members.append((f"{layer_id}/json", json.dumps({"id": layer_id}).encode()))
            if link_duplicates and layer in first_dir:  # docker save links a repeated layer
                members.append((f"{layer_id}/layer.tar", f"../{first_dir[layer]}/layer.tar"))
            else:
                first_dir.setdefault(layer, layer_id)
                members.append((f"{layer_id}/layer.tar", layer))
        config = image.config()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        members.append((config_name, config))
        manifest.append({"Config": config_name, "RepoTags": [image.tag], "Layers": paths})
    random.Random(seed).shuffle(members)
    members.append(("manifest.json", json.dumps(manifest).encode()))
    members.append(("repositories", b"{}"))
    return write_archive(members)


def oci_archive(
    *images: Image,
    gzip_layers: Sequence[int] = (),
    compat_manifest: bool = False,
    seed: int = 1,
    blobs: dict[str, bytes] | None = None,
) -> bytes:
    """The OCI layout: blobs/sha256/* (shuffled, some gzip), then index.json and oci-layout."""
    blob_map: dict[str, bytes] = dict(blobs or {})
    descriptors: list[dict[str, Any]] = []
    compat: list[dict[str, Any]] = []
    for image in images:
        layer_descriptors: list[dict[str, Any]] = []
        for index, layer in enumerate(image.layers):
            blob = gzip.compress(layer, mtime=0) if index in gzip_layers else layer
            media = "application/vnd.oci.image.layer.v1.tar" + (
                "+gzip" if index in gzip_layers else ""
            )
            blob_map[sha(blob)] = blob
            layer_descriptors.append({"mediaType": media, "digest": sha(blob), "size": len(blob)})
        config = image.config()
        blob_map[sha(config)] = config
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha(config),
                    "size": len(config),
                },
                "layers": layer_descriptors,
            }
        ).encode()
        blob_map[sha(manifest)] = manifest
        descriptors.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha(manifest),
                "size": len(manifest),
                "annotations": {
                    "io.containerd.image.name": "docker.io/" + image.tag,
                    "org.opencontainers.image.ref.name": image.tag.rsplit(":", 1)[-1],
                },
            }
        )
        compat.append(
            {
                "Config": "blobs/sha256/" + sha(config)[7:],
                "RepoTags": [image.tag],
                "Layers": ["blobs/sha256/" + d["digest"][7:] for d in layer_descriptors],
            }
        )
    members: list[tuple[str, bytes | str]] = [
        ("blobs/sha256/" + digest[7:], blob) for digest, blob in blob_map.items()
    ]
    random.Random(seed).shuffle(members)
    index_doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": descriptors,
    }
    members.append(("index.json", json.dumps(index_doc).encode()))
    members.append(("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
    if compat_manifest:
        members.append(("manifest.json", json.dumps(compat).encode()))
    return write_archive(members)


def analyse(data: bytes, **kwargs: Any) -> ImageAnalysis:
    return analyse_archive(io.BytesIO(data), **kwargs)


def history(*rows: str | tuple[str, bool]) -> list[dict[str, Any]]:
    """History rows; a (created_by, True) tuple is an empty_layer row."""
    result: list[dict[str, Any]] = []
    for row in rows:
        created_by, empty = (row, False) if isinstance(row, str) else row
        entry: dict[str, Any] = {"created": "2026-11-27T17:18:30Z", "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        result.append(entry)
    return result


# --------------------------------------------------------------------------- the core scenario
#
# L0, L1: base image. L2..L4: the user's. Expected numbers, worked out by hand:
#   stored:  L0 6500 + L1 1900 + L2 4210 + L3 7500 + L4 10 = 20120
#   visible: etc/base.conf 1200 (L1) + usr/lib/libbig.so 5000 (L3) + app/keep.txt 100 + opt/new 10
#            (+ app/link 0) = 6310  -> wasted 13810, efficiency 6310/20120
#   user:    stored 11720, visible 5110, wasted 6610 = app/data.bin 4000 + 2500 (overwritten with
#            another size, then deleted) + app/cache/x 50 + y 60 (directory deleted)
#   base copies hidden by user layers (not the user's waste): libbig.so 5000 (overwritten),
#            usr/share/doc 300 + 200 (directory deleted), opt/tool 700 (opaque dir) = 6200
#   base-internal: etc/base.conf 1000 overwritten in L1 = 1000; 6610 + 6200 + 1000 = 13810.

CORE_LAYERS = [
    layer_tar(
        D("etc"),
        F("etc/base.conf", 1000),
        D("usr"),
        D("usr/lib"),
        F("usr/lib/libbig.so", 5000),
        D("usr/share/doc"),
        F("usr/share/doc/a", 300),
        F("usr/share/doc/b", 200),
    ),
    layer_tar(D("etc"), F("etc/base.conf", 1200), D("opt"), F("opt/tool", 700)),
    layer_tar(
        D("app"),
        F("app/data.bin", 4000),
        F("app/keep.txt", 100),
        D("app/cache"),
        F("app/cache/x", 50),
        F("app/cache/y", 60),
        SYM("app/link", "keep.txt"),
    ),
    layer_tar(
        D("app"),
        F("app/data.bin", 2500),
        WH("app/cache"),
        D("usr/share"),
        WH("usr/share/doc"),
        D("usr/lib"),
        F("usr/lib/libbig.so", 5000),
    ),
    layer_tar(D("app"), WH("app/data.bin"), D("opt"), OPQ("opt"), F("opt/new", 10)),
]

CORE_HISTORY = history(
    "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007 in / ",
    ('/bin/sh -c #(nop)  CMD ["bash"]', True),
    "/bin/sh -c apt-get install -y tool",
    ("ARG MODE=fast", True),
    "RUN |1 MODE=fast /bin/sh -c make data # buildkit",
    ("ENV A=b", True),
    ("WORKDIR /app", True),
    "RUN |1 MODE=fast /bin/sh -c make again # buildkit",
    "RUN /bin/sh -c rm /app/data.bin # buildkit",
    ('CMD ["app"]', True),
)

CORE = Image(CORE_LAYERS, CORE_HISTORY)
BASE_IDS = CORE.diff_ids[:2]

BUILDERS: dict[str, Callable[[Image], bytes]] = {
    "docker-archive": lambda image: docker_archive(image),
    "oci": lambda image: oci_archive(image),
    "oci-gzip": lambda image: oci_archive(image, gzip_layers=(0, 3)),
    "oci+compat-manifest": lambda image: oci_archive(image, gzip_layers=(2,), compat_manifest=True),
}


@pytest.fixture(params=sorted(BUILDERS))
def build(request: pytest.FixtureRequest) -> Callable[[Image], bytes]:
    return BUILDERS[request.param]


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


def test_core_format_and_name(build: Callable[[Image], bytes]) -> None:
    result = analyse(build(CORE))
    assert result.image == "example/app:1"
    assert result.format in ("docker-archive", "oci")
    expected = "docker-archive" if build is BUILDERS["docker-archive"] else "oci"
    assert result.format == expected


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


def test_gzip_blob_sizes_and_compression() -> None:
    result = analyse(oci_archive(CORE, gzip_layers=(0,)))
    assert result.layers[0].compression == "gzip"
    assert result.layers[1].compression == "none"
    assert result.layers[0].blob_size == len(gzip.compress(CORE_LAYERS[0], mtime=0))
    assert result.layers[1].blob_size == len(CORE_LAYERS[1])


# --------------------------------------------------------------------------- accounting details


def one_image(*layers: bytes, hist: list[dict[str, Any]] | None = None) -> Image:
    return Image(list(layers), hist if hist is not None else history(*["RUN x"] * len(layers)))


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


def test_repeated_identical_layer_is_linked_in_docker_archive() -> None:
    empty = layer_tar(D("app"))
    image = one_image(layer_tar(F("a", 5)), empty, layer_tar(F("a", 5)), empty)
    for data in (docker_archive(image), oci_archive(image)):
        result = analyse(data)
        assert len(result.layers) == 4
        assert result.wasted_bytes == 5


# --------------------------------------------------------------------------- history mapping


def test_empty_layers_in_history_are_skipped_when_mapping_instructions() -> None:
    config = json.loads((HISTORY / "buildkit-args-cache-mount.config.json").read_text())
    made = [row for row in config["history"] if not row.get("empty_layer")]
    assert len(made) == 8 == len(config["rootfs"]["diff_ids"])
    layers = [layer_tar(F(f"f{index}", index + 1)) for index in range(8)]
    image = Image(layers, config["history"])
    result = analyse(oci_archive(image, gzip_layers=(1,)), base_layer_count=1)
    assert [layer.instruction for layer in result.layers] == [
        "Imported from -",
        "WORKDIR /srv",
        "COPY requirements.txt .",
        'RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.cache/pip'
        " && ls /root/.cache/pip",
        "RUN echo exec-form > /srv/exec.txt",
        "RUN echo one &&     echo two > /srv/two.txt",
        "RUN echo heredoc > /srv/heredoc.txt\necho second line >> /srv/heredoc.txt",
        'RUN echo "$GREETING" | tee /srv/greeting.txt',
    ]


def test_history_shorter_than_layers_leaves_instructions_empty() -> None:
    image = one_image(layer_tar(F("a", 1)), layer_tar(F("b", 1)), hist=history("RUN one"))
    assert [layer.instruction for layer in analyse(oci_archive(image)).layers] == ["RUN one", ""]


# --------------------------------------------------------------------------- archive handling


def test_picks_the_named_image_of_a_multi_image_archive() -> None:
    other = Image([layer_tar(F("z", 42))], history("RUN z"), tag="other/img:2")
    for make in (docker_archive, oci_archive):
        data = make(CORE, other)
        assert analyse(data).total_bytes == 20120
        picked = analyse(data, image="other/img:2")
        assert (picked.image, picked.total_bytes) == ("other/img:2", 42)
        assert analyse(data, image="docker.io/other/img:2").total_bytes == 42
        with pytest.raises(ArchiveError, match="not in the archive"):
            analyse(data, image="missing:1")


def test_zstd_layer_fails_with_a_clear_message() -> None:
    zstd_blob = b"\x28\xb5\x2f\xfd" + b"\0" * 600
    image = one_image(layer_tar(F("a", 1)))
    data = oci_archive(image, blobs={sha(zstd_blob): zstd_blob})
    assert analyse(data).total_bytes == 1  # an unreferenced zstd blob is no problem
    config = image.config()
    manifest = {
        "schemaVersion": 2,
        "config": {"digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                    "digest": sha(zstd_blob), "size": len(zstd_blob)}],
    }  # fmt: skip
    manifest_blob = json.dumps(manifest).encode()
    index = {"manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": sha(manifest_blob)}]}  # fmt: skip
    archive = write_archive(
        [
            ("blobs/sha256/" + sha(zstd_blob)[7:], zstd_blob),
            ("blobs/sha256/" + sha(config)[7:], config),
            ("blobs/sha256/" + sha(manifest_blob)[7:], manifest_blob),
            ("index.json", json.dumps(index).encode()),
        ]
    )
    with pytest.raises(ArchiveError, match="zstd") as caught:
        analyse(archive)
    assert "zstandard" in caught.value.hint


def test_real_containerd_store_save_with_gzip_layers() -> None:
    """`docker save` of the containerd image store (engine 26.1, captured): index.json -> image
    index -> platform manifest + attestation manifest (in-toto JSON), gzip layer blobs; the
    archive itself gzipped for the repo, which the reader accepts too."""
    with (HISTORY / "containerd-store-gzip.save.tar.gz").open("rb") as stream:
        result = analyse_archive(stream)
    assert (result.format, result.image) == ("oci", "dockyard-fixture:gzip")
    assert [(layer.compression, layer.instruction, layer.size) for layer in result.layers] == [
        ("gzip", "COPY a1.txt /srv/a.txt", 14),
        ("gzip", "COPY b.txt /srv/b.txt", 4),
        ("gzip", "COPY a2.txt /srv/a.txt", 28),
    ]
    assert (result.total_bytes, result.wasted_bytes, result.visible_bytes) == (46, 14, 32)
    assert result.wasteful_paths == (WastedPath("srv/a.txt", 2, 14, 14, False, (0, 2)),)


def test_real_containerd_store_save_with_zstd_layers() -> None:
    with (
        (HISTORY / "containerd-store-zstd.save.tar.gz").open("rb") as stream,
        pytest.raises(ArchiveError, match="zstd-compressed layer") as caught,
    ):
        analyse_archive(stream)
    assert "zstandard" in caught.value.hint


def test_not_an_archive() -> None:
    with pytest.raises(ArchiveError, match="not a docker save archive"):
        analyse(b"Error response from daemon: No such image")


def test_archive_without_index_or_manifest() -> None:
    with pytest.raises(ArchiveError, match=r"no index\.json or manifest\.json"):
        analyse(write_archive([("hello.txt", b"hi")]))


def test_missing_layer_blob() -> None:
    data = oci_archive(CORE)
    with tarfile.open(fileobj=io.BytesIO(data)) as blobs:
        kept = [
            (member.name, blobs.extractfile(member).read())  # type: ignore[union-attr]
            for member in blobs.getmembers()
            if member.name != "blobs/sha256/" + CORE.diff_ids[2][7:]
        ]
    with pytest.raises(ArchiveError, match="missing from the archive"):
        analyse(write_archive(kept))


def test_truncated_stream() -> None:
    data = oci_archive(CORE)
    with pytest.raises(ArchiveError):
        analyse(data[: len(data) // 3])


class ReadOnlyStream:
    """Like a pipe: read() only, no seek or tell."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def test_streams_without_holding_file_contents(tmp_path: Path) -> None:
    """A 48 MB layer passes through a read-only stream with a few hundred kB of Python memory."""
    big = 48 * 1024 * 1024
    layer_path = tmp_path / "layer.tar"
    with tarfile.open(layer_path, "w") as layer:
        info = tarfile.TarInfo("big.bin")
        info.size = big
        layer.addfile(info, io.BufferedReader(Zeros(big)))
        for index in range(2000):
            layer.addfile(tarfile.TarInfo(f"small/{index}"))
    layer_size = layer_path.stat().st_size
    digest = hashlib.sha256()
    with layer_path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    diff_id = "sha256:" + digest.hexdigest()
    config = json.dumps(
        {"rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": history("RUN big")}
    ).encode()
    archive_path = tmp_path / "image.tar"
    with tarfile.open(archive_path, "w") as archive:
        info = tarfile.TarInfo("abc/layer.tar")
        info.size = layer_size
        with layer_path.open("rb") as source:
            archive.addfile(info, source)
        for name, data in (
            ("cfg.json", config),
            (
                "manifest.json",
                json.dumps([{"Config": "cfg.json", "Layers": ["abc/layer.tar"]}]).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    stream = ReadOnlyStream(archive_path)
    tracemalloc.start()
    try:
        result = analyse_archive(stream)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        stream.close()
    assert result.total_bytes == big
    assert result.layers[0].added == 2001
    assert peak < 2 * 1024 * 1024, peak


def test_to_dict_is_json_ready() -> None:
    result = analyse(oci_archive(CORE), base_layer_ids=BASE_IDS, top_n=2)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["user_wasted_bytes"] == 6610
    assert data["layers"][3]["largest_files"][0] == {"path": "usr/lib/libbig.so", "size": 5000}
    assert data["wasteful_paths"][0]["path"] == "app/data.bin"
    assert data["format"] == "oci"


# --------------------------------------------------------------------------- gate


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


# --------------------------------------------------------------------------- small helpers


def read_rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (HISTORY / name).read_text().splitlines()]


def test_clean_instruction_on_real_buildkit_history() -> None:
    rows = read_rows("buildkit-args-cache-mount.jsonl")
    assert [clean_instruction(row["CreatedBy"]) for row in rows] == [
        'CMD ["-c" "print(1)"]',
        'ENTRYPOINT ["python3"]',
        'HEALTHCHECK &{["CMD-SHELL" "python3 -c \\"print(1)\\""] "5s" "0s" "0s" "0s" \'\\x00\'}',
        "EXPOSE map[8000/tcp:{}]",
        "USER nobody",
        'RUN echo "$GREETING" | tee /srv/greeting.txt',  # SHELL bash -o pipefail; ARG "hi there"
        "SHELL [/bin/bash -o pipefail -c]",
        "RUN echo heredoc > /srv/heredoc.txt\necho second line >> /srv/heredoc.txt",
        "RUN echo one &&     echo two > /srv/two.txt",
        "RUN echo exec-form > /srv/exec.txt",
        'RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.cache/pip'
        " && ls /root/.cache/pip",
        "COPY requirements.txt .",
        "WORKDIR /srv",
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ARG EMPTY=",
        "ARG GREETING=hello world",
        "ARG PIP_INDEX=https://pypi.example/simple",
        "",
    ]


def test_clean_instruction_on_real_legacy_builder_history() -> None:
    rows = read_rows("legacy-builder.jsonl")
    assert [clean_instruction(row["CreatedBy"]) for row in rows] == [
        'CMD ["python3"]',
        "RUN touch /exec",
        'RUN echo "$FOO" > /foo.txt',
        "COPY file:a596f0888def06c3cad1442667ede22d419985a1c8a3155b838b650c4cf52ecc in /a.txt",
        "ARG FOO=bar",
        "",
    ]


@pytest.mark.parametrize(
    ("created_by", "expected"),
    [
        ("RUN |1 A=x y z /bin/sh -c make # buildkit", "RUN make"),  # value with spaces, last
        ("RUN |2 A=1 2 B=3 /bin/sh -c make # buildkit", "RUN make"),  # value with spaces, first
        ("RUN |1 A=1 touch /x # buildkit", "RUN touch /x"),  # exec form, no shell
        ("/bin/sh -c apt-get update", "RUN apt-get update"),
        ("RUN /bin/sh -c echo hi # buildkit", "RUN echo hi"),
        ("cmd /S /C echo hi", "RUN echo hi"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_clean_instruction_cases(created_by: str, expected: str) -> None:
    assert clean_instruction(created_by) == expected


def test_one_line() -> None:
    assert one_line("RUN a \\\n    && b\n\tc") == "RUN a \\ && b c"
    assert one_line("RUN " + "x" * 50, width=10) == "RUN xxx..."
    assert one_line("short", width=10) == "short"


def test_base_prefix_length() -> None:
    assert base_prefix_length(["a", "b", "c"], ["a", "b"]) == 2
    assert base_prefix_length(["a", "b"], ["a", "b"]) == 2
    assert base_prefix_length(["a", "b"], ["x"]) == 0
    assert base_prefix_length(["a", "b"], []) == 0
    assert base_prefix_length(["a"], ["a", "b"]) == 1  # base longer than the image
