"""Which image an archive holds and its layers in order, from either `docker save` layout.

"oci": `index.json` and OCI manifests (Docker 25+ and the containerd store, which also write a
compatibility `manifest.json` whose RepoTags name each image by its config); "docker-archive":
`manifest.json` alone, `<id>/layer.tar` (Docker < 25). The instruction of each layer is the
config's `history` with `empty_layer` entries skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dockyard.image.archive import ArchiveError, ArchiveScan
from dockyard.image.instruction import clean_instruction
from dockyard.imageref import familiar, normalize

ArchiveFormat = Literal["docker-archive", "oci"]

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


@dataclass
class LayerRef:
    """One layer of the image: its archive member, digest, diff id and instruction."""

    member: str
    digest: str
    diff_id: str
    instruction: str


@dataclass
class ImageLayout:
    format: ArchiveFormat
    image: str
    layers: list[LayerRef]


def read_layout(scan: ArchiveScan, image: str | None) -> ImageLayout:
    """The layout of `image` (default: the first image of the archive)."""
    if "index.json" in scan.json_docs:
        return _oci_layout(scan, image)
    if "manifest.json" in scan.json_docs:
        return _docker_archive_layout(scan, image)
    raise ArchiveError(
        "no index.json or manifest.json in the archive: not written by `docker save`",
        "pass the output of `docker save IMAGE`",
    )


def _blob_path(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _matches(wanted: str | None, names: Iterable[str]) -> bool:
    if wanted is None:
        return True
    target = normalize(wanted)
    return any(normalize(name) == target for name in names if name)


def _instructions(config: Mapping[str, Any], count: int) -> list[str]:
    history = config.get("history")
    rows = [row for row in history if isinstance(row, dict)] if isinstance(history, list) else []
    made = [row for row in rows if not row.get("empty_layer")]
    result: list[str] = []
    for row in made[:count]:
        text = clean_instruction(str(row.get("created_by") or ""))
        result.append(text or str(row.get("comment") or ""))
    return result + [""] * (count - len(result))


def _diff_ids(config: Mapping[str, Any], count: int) -> list[str]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if isinstance(ids, list) and len(ids) == count:
        return [str(item) for item in ids]
    return [""] * count


def _docker_archive_layout(scan: ArchiveScan, image: str | None) -> ImageLayout:
    manifest = scan.load_json("manifest.json", "manifest")
    entries = (
        [entry for entry in manifest if isinstance(entry, dict)]
        if isinstance(manifest, list)
        else []
    )
    for entry in entries:
        tags = [str(tag) for tag in entry.get("RepoTags") or []]
        if not _matches(image, tags):
            continue
        config = scan.load_json(str(entry.get("Config", "")), "image config")
        members = [str(layer) for layer in entry.get("Layers") or []]
        diff_ids = _diff_ids(config, len(members))
        instructions = _instructions(config, len(members))
        layers = [
            LayerRef(member, member, diff_id, instruction)
            for member, diff_id, instruction in zip(members, diff_ids, instructions, strict=True)
        ]
        return ImageLayout("docker-archive", tags[0] if tags else "", layers)
    raise ArchiveError(
        f"image {image} is not in the archive" if image else "manifest.json lists no image"
    )


def _oci_manifests(
    scan: ArchiveScan, index: Any, depth: int = 0
) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """(manifest descriptor, names) for every image manifest reachable from an index."""
    descriptors = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(descriptors, list) or depth > 4:
        return
    for descriptor in descriptors:
        if not isinstance(descriptor, dict):
            continue
        annotations = descriptor.get("annotations") or {}
        names = [
            str(annotations.get(key, ""))
            for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name")
        ]
        if descriptor.get("mediaType") in _INDEX_TYPES:
            member = _blob_path(str(descriptor.get("digest", "")))
            try:
                nested = json.loads(scan.json_docs.get(member, b"null"))
            except ValueError:
                continue
            for child, child_names in _oci_manifests(scan, nested, depth + 1):
                yield child, child_names + names
            continue
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        yield descriptor, names


def _compat_tags(scan: ArchiveScan) -> dict[str, list[str]]:
    """RepoTags by config member, from the `manifest.json` Docker 25+ writes beside index.json."""
    try:
        compat = json.loads(scan.json_docs.get("manifest.json", b"[]"))
    except ValueError:
        return {}
    entries = (
        [entry for entry in compat if isinstance(entry, dict)] if isinstance(compat, list) else []
    )
    return {
        scan.resolve(str(entry.get("Config", ""))): [
            str(tag) for tag in entry.get("RepoTags") or []
        ]
        for entry in entries
        if entry.get("Config")
    }


def _config_member(scan: ArchiveScan, manifest_member: str) -> str:
    """The config blob an OCI manifest names ("" if it cannot be read; checked when used)."""
    try:
        manifest = json.loads(scan.json_docs.get(manifest_member, b"{}"))
    except ValueError:
        return ""
    config = manifest.get("config") if isinstance(manifest, dict) else None
    return _blob_path(str(config.get("digest", ""))) if isinstance(config, dict) else ""


def _oci_layout(scan: ArchiveScan, image: str | None) -> ImageLayout:
    index = scan.load_json("index.json", "OCI index")
    tags_by_config = _compat_tags(scan)
    found_any = False
    for descriptor, names in _oci_manifests(scan, index):
        found_any = True
        full_names = [name for name in names if name and ("/" in name or ":" in name)]
        member = _blob_path(str(descriptor.get("digest", "")))
        compat_tags = tags_by_config.get(_config_member(scan, member), [])
        if image is not None and not _matches(image, full_names + compat_tags):
            continue
        if member not in scan.json_docs:
            continue  # a platform whose blobs were not saved
        manifest = scan.load_json(member, "OCI manifest")
        config_digest = str((manifest.get("config") or {}).get("digest", ""))
        config = scan.load_json(_blob_path(config_digest), "image config")
        digests = [str(layer.get("digest", "")) for layer in manifest.get("layers") or []]
        diff_ids = _diff_ids(config, len(digests))
        instructions = _instructions(config, len(digests))
        layers = [
            LayerRef(_blob_path(digest), digest, diff_id, instruction)
            for digest, diff_id, instruction in zip(digests, diff_ids, instructions, strict=True)
        ]
        name = full_names[0] if full_names else (compat_tags[0] if compat_tags else "")
        return ImageLayout("oci", familiar(name), layers)
    if image is not None and found_any:
        raise ArchiveError(f"image {image} is not in the archive")
    raise ArchiveError("index.json names no image manifest whose blobs are in the archive")
