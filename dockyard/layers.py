"""Layer analysis of an image from `docker save`: sizes, instructions, waste, efficiency, CI gate.

Gather -> evaluate -> present: `analyse_archive` reads the archive and returns plain dataclasses,
`evaluate_gate` turns them into PASS / WARN / FAIL results, and rendering lives elsewhere
(render.py, `ImageAnalysis.to_dict()` for `--json`). Pure stdlib; nothing here talks to Docker.

Reading
-------
The archive is read once, as a stream (`tarfile` mode ``r|*``): nothing is unpacked to disk and no
file content is kept in memory. `docker save` writes members in no guaranteed order (Docker 25+
writes every blob before `index.json` and `manifest.json`), so each member is sniffed as it passes:
a layer (plain tar, gzip, bzip2, xz; zstd is detected and refused with a clear message unless a zstd
module is importable) is read at once as a nested tar stream, keeping only per-entry metadata (path,
size, type, whiteouts); small JSON documents (manifest, index, config; < 8 MB) are kept whole;
anything else is skipped. When the stream ends, the layer order comes from `index.json` and the OCI
manifest ("oci": Docker 25+ and the containerd store, which also write a compatibility
`manifest.json`) or from `manifest.json` alone ("docker-archive": `<id>/layer.tar`, Docker < 25).
The instruction of each layer is the config's `history` with `empty_layer: true` entries skipped.

How waste is counted (the README paragraph)
-------------------------------------------
A *file* is a regular file, symlink, hardlink or other non-directory entry; directories are never
files and never waste. Each time a layer writes a path it stores a *copy* whose size is the tar
member's size (a symlink is 0; a hardlink is 0 because tar stores the bytes once, on the member it
links to in the same layer). A whiteout `.wh.NAME` deletes NAME and everything under it; an opaque
whiteout `.wh..wh..opq` in directory D hides everything under D from lower layers; a file written
over a directory (or a directory over a file) replaces it. At the end one copy per path is
*visible*: the one the container sees (a hidden copy still reached by a visible hardlink of its
layer also counts as visible). Every other copy is *wasted*: a path written in N layers wastes N-1
copies, all N if it ends deleted, each with its own size, so a 1 MB file overwritten by a 2 MB one
wastes 1 MB (not 3 MB) and a 3 MB file written in one RUN and deleted in the next wastes 3 MB.
Whole image: stored = all copies, wasted = stored - visible, efficiency = visible / stored.
The user's figures count only copies stored in the user's layers, i.e. the layers above the base
image's (the base image's layer list, `docker image inspect BASE` -> RootFS.Layers, is a prefix of
this image's; without it every layer is the user's): user waste = bytes of the user layers' copies
that are not visible, user efficiency = visible bytes in user layers / bytes in user layers. A base
copy that a user layer overwrites or deletes is waste of the whole image, reported apart as
`base_shadowed_bytes` (deleting a base file never makes an image smaller), but not the user's
waste: those bytes are in the base layers whatever the user's layers do. No bytes: efficiency 1.0.
dive differs in three ways: its "wasted bytes" adds up every copy of a duplicated path including
the visible one (dive#684: 3 MB instead of 1 MB in the example above); it counts every layer but
the first as the user's, so a base image of several layers becomes the user's waste; and it breaks
on what the containerd image store's `docker save` writes (nested OCI index, compressed blobs).

Sizes differ a little from Docker's: the classic store's layer size also counts each symlink's
target length (about 25 kB on a 191 MB Debian base), and the containerd store's history `Size` is
disk usage in blocks (12.3 kB for a 14-byte file). Here a size is always the tar member's size.

CI gate
-------
`evaluate_gate` checks the user's efficiency and waste (what the user can change) and the image
size. See its docstring for what WARN means.
"""

from __future__ import annotations

import dataclasses
import heapq
import importlib
import io
import json
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal, cast

from dockyard.errors import DockyardError
from dockyard.imageref import familiar, normalize
from dockyard.units import format_size

__all__ = [
    "ArchiveError",
    "GateResult",
    "GateRules",
    "ImageAnalysis",
    "LayerFile",
    "LayerReport",
    "Status",
    "WastedPath",
    "analyse_archive",
    "base_prefix_length",
    "clean_instruction",
    "evaluate_gate",
    "gate_status",
    "one_line",
]

ArchiveFormat = Literal["docker-archive", "oci"]
Status = Literal["PASS", "WARN", "FAIL"]

JSON_LIMIT = 8 * 1024 * 1024  # JSON members larger than this are not kept
_SNIFF = 512
_TAR_BUFSIZE = 64 * 1024  # nested tar read size: big enough to skip data fast, small to slice

# Entry kinds of a layer tar.
_DIR, _FILE, _SYMLINK, _HARDLINK, _OTHER = range(5)

_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


class ArchiveError(DockyardError):
    """The `docker save` stream cannot be read as an image (truncated, unknown format, zstd...)."""


# --------------------------------------------------------------------------- result dataclasses


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
    """Everything the table, `--json` and the CI gate need; see the module docstring for the rules.

    `base_matched` is False when base layer ids were given but are not all a prefix of this image's
    layers (then `base_layer_count` is the length of the common prefix).
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


@dataclass(frozen=True)
class GateRules:
    """Limits for `--ci`; None leaves a rule out. `warn_ratio`: see `evaluate_gate`."""

    min_efficiency: float | None = None
    max_wasted_bytes: int | None = None
    max_size: int | None = None
    warn_ratio: float = 0.1

    @property
    def empty(self) -> bool:
        return (
            self.min_efficiency is None and self.max_wasted_bytes is None and self.max_size is None
        )


@dataclass(frozen=True)
class GateResult:
    """One rule's verdict with a one-line reason; `value` and `limit` in the rule's unit."""

    rule: str
    status: Status
    reason: str
    value: float
    limit: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- small pure helpers

_NOP_RE = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_ARGS_RE = re.compile(r"^(?:RUN )?\|(?P<n>[0-9]+) ")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# The shell a RUN line starts with: /bin/sh -c, /bin/bash -o pipefail -c, sh -c, cmd /S /C ...
_SHELL_RE = re.compile(r"^(?:(?:\S*/)?(?:ba|da|a|z)?sh(?: \S+)*? -c |cmd /S /C )")
_SHELL_INSIDE_RE = re.compile(r" (?=/\S*/(?:ba|da|a|z)?sh(?: \S+)*? -c )")


def clean_instruction(created_by: str) -> str:
    """The Dockerfile instruction behind a history `created_by`, without the builder's noise.

    Strips the legacy builder's `/bin/sh -c #(nop) ` prefix, BuildKit's ` # buildkit` suffix, the
    `|N KEY=VALUE ...` build-arg prefix of RUN lines (N arguments) and the shell (`/bin/sh -c `,
    or the one `SHELL` set), and writes RUN lines as `RUN <command>`. BuildKit joins ARG values
    unquoted, so a value with spaces is ambiguous; it is resolved by looking for the shell.
    Multi-line commands (heredocs) keep their newlines: see `one_line`.
    """
    text = created_by.strip()
    if text.endswith("# buildkit"):
        text = text[: -len("# buildkit")].rstrip()
    if not text:
        return ""
    nop = _NOP_RE.match(text)
    if nop:
        return text[nop.end() :].strip()
    is_run = False
    args = _ARGS_RE.match(text)
    if args:
        is_run = True
        text = _skip_build_args(text[args.end() :], int(args.group("n")))
    elif text.startswith("RUN "):
        is_run = True
        text = text[4:]
    shell = _SHELL_RE.match(text)
    if shell:
        return "RUN " + text[shell.end() :]
    return "RUN " + text if is_run else text


def _skip_build_args(rest: str, count: int) -> str:
    """Drop `count` KEY=VALUE words (values may contain spaces) from the front of `rest`."""
    tokens = rest.split(" ")
    seen = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if _KEY_RE.match(token) and seen < count:
            seen += 1
        elif seen == 0 or seen >= count:
            break
        index += 1  # a KEY=VALUE word, or more of a value that contains spaces
    remainder = " ".join(tokens[index:])
    if seen == count and not _SHELL_RE.match(remainder):
        # The last value may have had spaces too: cut at the shell if there is one.
        inside = _SHELL_INSIDE_RE.search(remainder)
        if inside:
            remainder = remainder[inside.end() :]
    return remainder


def one_line(text: str, width: int | None = None) -> str:
    """Collapse whitespace (newlines of heredocs, continuation indents) to single spaces; cut to
    `width` characters with a trailing "..." (ASCII: Windows consoles may be cp1252)."""
    flat = " ".join(text.split())
    if width is not None and len(flat) > width:
        return flat[: max(width - 3, 0)] + "..."[: max(width, 0)]
    return flat


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


# --------------------------------------------------------------------------- the gate


def evaluate_gate(
    analysis: ImageAnalysis, rules: GateRules, image_size: int | None = None
) -> list[GateResult]:
    """Check the analysis against the rules; one result per rule that is set, in a fixed order.

    * `min_efficiency` checks the *user* efficiency (the base image is not the user's doing).
    * `max_wasted_bytes` checks the *user* wasted bytes.
    * `max_size` checks `image_size` (e.g. `docker image inspect` Size) or, if None, the bytes
      stored in all layers.
    FAIL: beyond the limit. WARN: within the limit but more than (1 - warn_ratio) of the allowance
    used, i.e. by default within 10% of the limit: wasted bytes or size above 90% of the maximum,
    or, for efficiency, inefficiency (1 - efficiency) above 90% of the allowed 1 - minimum
    (minimum 90% -> WARN below 91%). PASS otherwise.
    """
    keep = 1.0 - rules.warn_ratio
    results: list[GateResult] = []
    if rules.min_efficiency is not None:
        value = analysis.user_efficiency
        limit = rules.min_efficiency
        shown = f"user efficiency {value:.1%}"
        if value < limit:
            results.append(
                GateResult("min_efficiency", "FAIL", f"{shown} < minimum {limit:.1%}", value, limit)
            )
        elif 1.0 - value > (1.0 - limit) * keep:
            reason = f"{shown} is within {rules.warn_ratio:.0%} of the minimum {limit:.1%}"
            results.append(GateResult("min_efficiency", "WARN", reason, value, limit))
        else:
            results.append(
                GateResult(
                    "min_efficiency", "PASS", f"{shown} >= minimum {limit:.1%}", value, limit
                )
            )
    if rules.max_wasted_bytes is not None:
        results.append(
            _max_rule(
                "max_wasted_bytes",
                "user wasted bytes",
                analysis.user_wasted_bytes,
                rules.max_wasted_bytes,
                keep,
                rules.warn_ratio,
            )
        )
    if rules.max_size is not None:
        size = analysis.total_bytes if image_size is None else image_size
        results.append(
            _max_rule("max_size", "image size", size, rules.max_size, keep, rules.warn_ratio)
        )
    return results


def _max_rule(
    rule: str, what: str, value: int, limit: int, keep: float, ratio: float
) -> GateResult:
    shown = f"{what} {format_size(value)} ({value} B)"
    if value > limit:
        return GateResult(rule, "FAIL", f"{shown} > limit {format_size(limit)}", value, limit)
    if value > limit * keep:
        reason = f"{shown} is within {ratio:.0%} of the limit {format_size(limit)}"
        return GateResult(rule, "WARN", reason, value, limit)
    return GateResult(rule, "PASS", f"{shown} <= limit {format_size(limit)}", value, limit)


def gate_status(results: Iterable[GateResult]) -> Status:
    """The worst status (FAIL > WARN > PASS); PASS when there are no results."""
    statuses = {result.status for result in results}
    if "FAIL" in statuses:
        return "FAIL"
    return "WARN" if "WARN" in statuses else "PASS"


# --------------------------------------------------------------------------- streaming scan


@dataclass
class _LayerScan:
    """What one layer blob holds, in tar order; never file contents."""

    entries: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, kind)
    hardlinks: dict[str, str] = field(default_factory=dict)  # link path -> target path
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    blob_size: int = 0
    compression: str = "none"


@dataclass
class _Scan:
    json_docs: dict[str, bytes] = field(default_factory=dict)
    layers: dict[str, _LayerScan] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # member -> why it could not be read
    links: dict[str, str] = field(default_factory=dict)  # member -> member it links to
    members: set[str] = field(default_factory=set)


def _norm(name: str) -> str:
    """A tar member name as an image path: no leading "./" or "/", no trailing "/"; root is ""."""
    return posixpath.normpath("/" + name).lstrip("/")


def _looks_like_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    block = head[:512]
    if block[257:262] == b"ustar" or not any(block):
        return True
    try:
        stored = int(block[148:156].replace(b"\0", b" ").strip() or b"0", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 256 + sum(block[156:512])


def _sniff(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if _looks_like_tar(head):
        return "none"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "other"


_TarMode = Literal["r|", "r|gz", "r|bz2", "r|xz"]
_TAR_MODES: dict[str, _TarMode] = {
    "none": "r|",
    "gzip": "r|gz",
    "bzip2": "r|bz2",
    "xz": "r|xz",
    "zstd": "r|",
}


def _zstd_reader(raw: IO[bytes]) -> IO[bytes]:
    """A decompressing reader if Python has zstd (3.14's compression.zstd, or `zstandard`)."""
    try:
        module = importlib.import_module("compression.zstd")
        return module.ZstdFile(raw, "rb")  # type: ignore[no-any-return]
    except ImportError:
        pass
    try:
        module = importlib.import_module("zstandard")
        return module.ZstdDecompressor().stream_reader(raw)  # type: ignore[no-any-return]
    except ImportError:
        raise _Unsupported(
            "zstd-compressed layer; this Python cannot read zstd (needs Python 3.14 or the "
            "'zstandard' package)"
        ) from None


def _forget_members(archive: tarfile.TarFile) -> None:
    """Stream mode appends every TarInfo to `members`; drop them so memory stays flat."""
    vars(archive)["members"].clear()


class _Unsupported(Exception):
    pass


def _scan_layer(raw: IO[bytes], compression: str) -> _LayerScan:
    scan = _LayerScan(compression=compression)
    source = _zstd_reader(raw) if compression == "zstd" else raw
    with tarfile.open(
        fileobj=source, mode=_TAR_MODES[compression], bufsize=_TAR_BUFSIZE, encoding="utf-8"
    ) as layer:
        while True:
            info = layer.next()
            _forget_members(layer)
            if info is None:
                break
            path = _norm(info.name)
            if not path:
                continue
            parent, base = posixpath.split(path)
            if base.startswith(".wh."):
                if base == ".wh..wh..opq":
                    scan.opaque_dirs.append(parent)
                elif not base.startswith(".wh..wh."):  # other .wh..wh. names are AUFS metadata
                    scan.whiteouts.append(posixpath.join(parent, base[4:]))
                continue
            if info.isdir():
                scan.entries.append((path, 0, _DIR))
            elif info.isreg():
                scan.entries.append((path, info.size, _FILE))
            elif info.issym():
                scan.entries.append((path, info.size, _SYMLINK))
            elif info.islnk():
                scan.entries.append((path, 0, _HARDLINK))
                scan.hardlinks[path] = _norm(info.linkname)
            else:
                scan.entries.append((path, 0, _OTHER))
    return scan


def _scan_archive(stream: IO[bytes]) -> _Scan:
    scan = _Scan()
    try:
        outer = tarfile.open(fileobj=stream, mode="r|*", encoding="utf-8")  # noqa: SIM115
    except (tarfile.ReadError, EOFError) as exc:
        raise ArchiveError(
            f"not a docker save archive: {exc}",
            "pass the output of `docker save IMAGE` (a tar stream)",
        ) from None
    try:
        with outer:
            while True:
                member = outer.next()
                _forget_members(outer)
                if member is None:
                    break
                name = _norm(member.name)
                scan.members.add(name)
                if member.issym():
                    target = posixpath.join(posixpath.dirname(name), member.linkname)
                    scan.links[name] = _norm(target)
                    continue
                if member.islnk():
                    scan.links[name] = _norm(member.linkname)
                    continue
                if not member.isfile() or member.size == 0:
                    continue
                _scan_member(outer, member, name, scan)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ArchiveError(
            f"docker save stream ended or broke mid-way: {exc}",
            "check that `docker save` succeeded (disk space, image name)",
        ) from None
    return scan


def _scan_member(outer: tarfile.TarFile, member: tarfile.TarInfo, name: str, scan: _Scan) -> None:
    data = outer.extractfile(member)
    if data is None:
        return
    if not isinstance(data, io.BufferedReader):  # CPython's ExFileObject always is one
        data = io.BufferedReader(cast(Any, data))
    reader = data
    kind = _sniff(reader.peek(_SNIFF)[:_SNIFF])
    if kind == "json":
        if member.size <= JSON_LIMIT:
            scan.json_docs[name] = reader.read()
        return
    if kind == "other":
        return
    try:
        layer = _scan_layer(reader, kind)
    except _Unsupported as exc:
        scan.problems[name] = str(exc)
        return
    except (tarfile.ReadError, EOFError, zlib.error) as exc:
        scan.problems[name] = f"unreadable {kind} layer: {exc}"
        return
    layer.blob_size = member.size
    scan.layers[name] = layer


# --------------------------------------------------------------------------- layer order


@dataclass
class _Planned:
    member: str
    digest: str
    diff_id: str
    instruction: str


@dataclass
class _Plan:
    format: ArchiveFormat
    image: str
    layers: list[_Planned]


def _load_json(scan: _Scan, member: str, what: str) -> Any:
    resolved = _resolve(scan, member)
    raw = scan.json_docs.get(resolved)
    if raw is None:
        if resolved in scan.members:
            raise ArchiveError(f"{what} {member} is not JSON or is too large to read")
        raise ArchiveError(f"{what} {member} is missing from the archive")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ArchiveError(f"{what} {member} is not valid JSON: {exc}") from None


def _resolve(scan: _Scan, member: str) -> str:
    name = _norm(member)
    for _ in range(8):  # symlinked layer.tar of docker-archive, never deep
        if name not in scan.links:
            break
        name = scan.links[name]
    return name


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


def _plan(scan: _Scan, image: str | None) -> _Plan:
    if "index.json" in scan.json_docs:
        return _plan_oci(scan, image)
    if "manifest.json" in scan.json_docs:
        return _plan_docker_archive(scan, image)
    raise ArchiveError(
        "no index.json or manifest.json in the archive: not written by `docker save`",
        "pass the output of `docker save IMAGE`",
    )


def _plan_docker_archive(scan: _Scan, image: str | None) -> _Plan:
    manifest = _load_json(scan, "manifest.json", "manifest")
    entries = (
        [entry for entry in manifest if isinstance(entry, dict)]
        if isinstance(manifest, list)
        else []
    )
    for entry in entries:
        tags = [str(tag) for tag in entry.get("RepoTags") or []]
        if not _matches(image, tags):
            continue
        config = _load_json(scan, str(entry.get("Config", "")), "image config")
        members = [str(layer) for layer in entry.get("Layers") or []]
        diff_ids = _diff_ids(config, len(members))
        instructions = _instructions(config, len(members))
        layers = [
            _Planned(member, member, diff_id, instruction)
            for member, diff_id, instruction in zip(members, diff_ids, instructions, strict=True)
        ]
        return _Plan("docker-archive", tags[0] if tags else "", layers)
    raise ArchiveError(
        f"image {image} is not in the archive" if image else "manifest.json lists no image"
    )


def _oci_manifests(
    scan: _Scan, index: Any, depth: int = 0
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


def _plan_oci(scan: _Scan, image: str | None) -> _Plan:
    index = _load_json(scan, "index.json", "OCI index")
    compat_tags: list[str] = []
    if "manifest.json" in scan.json_docs:  # Docker 25+ writes both; its RepoTags name the image
        try:
            compat = json.loads(scan.json_docs["manifest.json"])
            if isinstance(compat, list) and compat and isinstance(compat[0], dict):
                compat_tags = [str(tag) for tag in compat[0].get("RepoTags") or []]
        except ValueError:
            pass
    found_any = False
    for descriptor, names in _oci_manifests(scan, index):
        found_any = True
        full_names = [name for name in names if name and ("/" in name or ":" in name)]
        if image is not None and not _matches(image, full_names + compat_tags):
            continue
        member = _blob_path(str(descriptor.get("digest", "")))
        if member not in scan.json_docs:
            continue  # a platform whose blobs were not saved
        manifest = _load_json(scan, member, "OCI manifest")
        config_digest = str((manifest.get("config") or {}).get("digest", ""))
        config = _load_json(scan, _blob_path(config_digest), "image config")
        digests = [str(layer.get("digest", "")) for layer in manifest.get("layers") or []]
        diff_ids = _diff_ids(config, len(digests))
        instructions = _instructions(config, len(digests))
        layers = [
            _Planned(_blob_path(digest), digest, diff_id, instruction)
            for digest, diff_id, instruction in zip(digests, diff_ids, instructions, strict=True)
        ]
        name = full_names[0] if full_names else (compat_tags[0] if compat_tags else "")
        return _Plan("oci", familiar(name), layers)
    if image is not None and found_any:
        raise ArchiveError(f"image {image} is not in the archive")
    raise ArchiveError("index.json names no image manifest whose blobs are in the archive")


# --------------------------------------------------------------------------- replay and accounting


class _Copy:
    """One stored copy of a path. `hidden_by`: the layer that hid it, -1 while visible."""

    __slots__ = ("hidden_by", "kind", "layer", "size", "target")

    def __init__(self, layer: int, size: int, kind: int, target: str | None) -> None:
        self.layer = layer
        self.size = size
        self.kind = kind
        self.target = target
        self.hidden_by = -1


class _View:
    """The merged filesystem while layers are applied bottom-up (metadata only)."""

    def __init__(self) -> None:
        self.visible: dict[str, _Copy] = {}
        self.tree: dict[str, set[str]] = {"": set()}  # directory -> child paths
        self.copies: dict[str, list[_Copy]] = {}

    def _hide(self, path: str, layer: int) -> int:
        copy = self.visible.pop(path, None)
        if copy is None:
            return 0
        copy.hidden_by = layer
        return 1

    def remove(self, path: str, layer: int) -> int:
        """Delete path and everything under it; return how many files stopped being visible."""
        if not path:
            return self.clear_dir("", layer)
        kids = self.tree.get(posixpath.dirname(path))
        if kids is not None:
            kids.discard(path)
        return self._remove_subtree(path, layer)

    def _remove_subtree(self, path: str, layer: int) -> int:
        removed = 0
        stack = [path]
        while stack:
            current = stack.pop()
            removed += self._hide(current, layer)
            kids = self.tree.pop(current, None)
            if kids:
                stack.extend(kids)
        return removed

    def clear_dir(self, path: str, layer: int) -> int:
        """Opaque directory: hide everything under path, keep the directory."""
        kids = self.tree.get(path)
        if not kids:
            return 0
        removed = sum(self._remove_subtree(kid, layer) for kid in kids)
        self.tree[path] = set()
        return removed

    def ensure_dir(self, path: str, layer: int) -> int:
        """Make path a directory (with its parents); a file in the way is hidden (counted)."""
        removed = 0
        child: str | None = None
        while True:
            kids = self.tree.get(path)
            if kids is not None:
                if child is not None:
                    kids.add(child)
                return removed
            removed += self._hide(path, layer)  # a file replaced by a directory
            self.tree[path] = {child} if child is not None else set()
            child, path = path, posixpath.dirname(path)

    def put(self, path: str, copy: _Copy) -> tuple[int, int, int]:
        """Write a non-directory copy; return (added, changed, removed) for the layer's counts."""
        removed = 0
        if path in self.tree:  # a directory replaced by a file
            removed += self.remove(path, copy.layer)
        removed += self.ensure_dir(posixpath.dirname(path), copy.layer)
        self.tree[posixpath.dirname(path)].add(path)
        previous = self.visible.get(path)
        self.visible[path] = copy
        self.copies.setdefault(path, []).append(copy)
        if previous is None:
            return 1, 0, removed
        previous.hidden_by = copy.layer
        if previous.layer == copy.layer:  # the same path twice in one tar: the later wins
            return 0, 0, removed
        return 0, 1, removed


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
    scan = _scan_archive(stream)
    plan = _plan(scan, image)
    for planned in plan.layers:
        member = _resolve(scan, planned.member)
        if member in scan.problems:
            raise ArchiveError(
                f"layer {planned.digest}: {scan.problems[member]}",
                "save the image from the classic image store, or install 'zstandard'"
                if "zstd" in scan.problems[member]
                else "check that `docker save` finished",
            )
        if member not in scan.layers:
            raise ArchiveError(f"layer {planned.digest} is missing from the archive")
    diff_ids = [planned.diff_id for planned in plan.layers]
    if base_layer_count is not None:
        base_count = max(0, min(base_layer_count, len(plan.layers)))
        matched = base_count == base_layer_count
    else:
        base_count = base_prefix_length(diff_ids, base_layer_ids)
        matched = base_count == len(base_layer_ids)
    return _account(scan, plan, base_count, matched, max(top_n, 0))


def _account(scan: _Scan, plan: _Plan, base_count: int, matched: bool, top_n: int) -> ImageAnalysis:
    view = _View()
    last_use = {_resolve(scan, p.member): i for i, p in enumerate(plan.layers)}
    counts: list[tuple[int, int, int, int]] = []  # (size, added, changed, removed)
    largest: list[tuple[LayerFile, ...]] = []
    layer_scans: list[_LayerScan] = []
    for index, planned in enumerate(plan.layers):
        member = _resolve(scan, planned.member)
        layer = scan.layers[member]
        layer_scans.append(layer)
        removed = 0
        for directory in layer.opaque_dirs:
            removed += view.clear_dir(directory, index)
        for path in layer.whiteouts:
            removed += view.remove(path, index)
        added = changed = size = 0
        for path, entry_size, kind in layer.entries:
            if kind == _DIR:
                removed += view.ensure_dir(path, index)
                continue
            target = layer.hardlinks.get(path) if kind == _HARDLINK else None
            a, c, r = view.put(path, _Copy(index, entry_size, kind, target))
            added += a
            changed += c
            removed += r
            size += entry_size
        files = heapq.nsmallest(
            top_n, ((-s, p) for p, s, k in layer.entries if k != _DIR and s > 0)
        )
        largest.append(tuple(LayerFile(path, -neg) for neg, path in files))
        counts.append((size, added, changed, removed))
        if last_use[member] == index:
            layer.entries = []  # metadata no longer needed; keep sizes only
            layer.hardlinks = {}

    # A hidden file copy whose bytes a visible hardlink of the same layer still reaches is kept.
    alive = {
        (copy.layer, copy.target)
        for copy in view.visible.values()
        if copy.kind == _HARDLINK and copy.target is not None
    }
    layer_waste = [0] * len(plan.layers)
    total = visible = user_total = user_visible = shadowed = 0
    candidates: list[WastedPath] = []
    for path, copies in view.copies.items():
        wasted = user_wasted = 0
        for copy in copies:
            kept = copy.hidden_by < 0 or (copy.kind == _FILE and (copy.layer, path) in alive)
            user = copy.layer >= base_count
            total += copy.size
            if user:
                user_total += copy.size
            if kept:
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
                    deleted_at_end=path not in view.visible,
                    layers=tuple(copy.layer for copy in copies),
                )
            )
    worst = heapq.nsmallest(
        top_n, candidates, key=lambda w: (-w.user_wasted_bytes, -w.wasted_bytes, w.path)
    )

    reports: list[LayerReport] = []
    cumulative = 0
    for index, planned in enumerate(plan.layers):
        size, added, changed, removed = counts[index]
        cumulative += size
        reports.append(
            LayerReport(
                index=index,
                digest=planned.digest,
                diff_id=planned.diff_id,
                size=size,
                cumulative_size=cumulative,
                instruction=planned.instruction,
                is_base=index < base_count,
                added=added,
                changed=changed,
                removed=removed,
                wasted_bytes=layer_waste[index],
                largest_files=largest[index],
                blob_size=layer_scans[index].blob_size,
                compression=layer_scans[index].compression,
            )
        )
    return ImageAnalysis(
        format=plan.format,
        image=plan.image,
        layers=tuple(reports),
        base_layer_count=base_count,
        base_matched=matched,
        file_count=len(view.visible),
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
