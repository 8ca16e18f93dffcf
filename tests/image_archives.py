"""Synthetic `docker save` archives for the image tests, built with tarfile in both formats
(docker-archive and OCI, members shuffled: blobs before index.json / manifest.json), the core
scenario image with its hand-worked numbers, and the captured history rows in tests/data/history.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.image.analysis import ImageAnalysis, analyse_archive

HISTORY = Path(__file__).resolve().parent / "data" / "history"

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


def one_image(*layers: bytes, hist: list[dict[str, Any]] | None = None) -> Image:
    return Image(list(layers), hist if hist is not None else history(*["RUN x"] * len(layers)))


def read_rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HISTORY / name).read_text().splitlines()]


# The core scenario.
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
