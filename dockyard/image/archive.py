"""One streaming pass over a `docker save` archive: its JSON documents and each layer's entries.

Members come in no guaranteed order, so each is sniffed as it passes: a layer blob (plain tar,
gzip, bzip2, xz; zstd when Python has a zstd module) is read at once as a nested tar stream
keeping only per-entry metadata; small JSON documents are kept whole; the rest is skipped.
Nothing is unpacked to disk and no file content is kept.
"""

from __future__ import annotations

import importlib
import io
import json
import posixpath
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, Literal, cast

from dockyard.errors import DockyardError

JSON_LIMIT = 8 * 1024 * 1024  # JSON members larger than this are not kept
_SNIFF = 512
_TAR_BUFSIZE = 64 * 1024  # nested tar read size: big enough to skip data fast, small to slice

# Entry kinds of a layer tar (plain ints: a layer can have hundreds of thousands of entries).
DIR, FILE, SYMLINK, HARDLINK, OTHER = range(5)


class ArchiveError(DockyardError):
    """The `docker save` stream cannot be read as an image (truncated, unknown format, zstd...)."""


@dataclass
class LayerScan:
    """What one layer blob holds, in tar order; never file contents."""

    entries: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, kind)
    hardlinks: dict[str, str] = field(default_factory=dict)  # link path -> target path
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    blob_size: int = 0
    compression: str = "none"


@dataclass
class ArchiveScan:
    """Everything kept from the archive, by member name (see `norm_path`)."""

    json_docs: dict[str, bytes] = field(default_factory=dict)
    layers: dict[str, LayerScan] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # member -> why it could not be read
    links: dict[str, str] = field(default_factory=dict)  # member -> member it links to
    members: set[str] = field(default_factory=set)

    def resolve(self, member: str) -> str:
        """The member a name stands for, following the archive's own links."""
        name = norm_path(member)
        for _ in range(8):  # symlinked layer.tar of docker-archive, never deep
            if name not in self.links:
                break
            name = self.links[name]
        return name

    def load_json(self, member: str, what: str) -> Any:
        """A kept JSON document; ArchiveError naming `what` if it is missing or broken."""
        resolved = self.resolve(member)
        raw = self.json_docs.get(resolved)
        if raw is None:
            if resolved in self.members:
                raise ArchiveError(f"{what} {member} is not JSON or is too large to read")
            raise ArchiveError(f"{what} {member} is missing from the archive")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ArchiveError(f"{what} {member} is not valid JSON: {exc}") from None


def norm_path(name: str) -> str:
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


def _scan_layer(raw: IO[bytes], compression: str) -> LayerScan:
    scan = LayerScan(compression=compression)
    source = _zstd_reader(raw) if compression == "zstd" else raw
    with tarfile.open(
        fileobj=source, mode=_TAR_MODES[compression], bufsize=_TAR_BUFSIZE, encoding="utf-8"
    ) as layer:
        while True:
            info = layer.next()
            _forget_members(layer)
            if info is None:
                break
            path = norm_path(info.name)
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
                scan.entries.append((path, 0, DIR))
            elif info.isreg():
                scan.entries.append((path, info.size, FILE))
            elif info.issym():
                scan.entries.append((path, info.size, SYMLINK))
            elif info.islnk():
                scan.entries.append((path, 0, HARDLINK))
                scan.hardlinks[path] = norm_path(info.linkname)
            else:
                scan.entries.append((path, 0, OTHER))
    return scan


def scan_archive(stream: IO[bytes]) -> ArchiveScan:
    """Read the whole stream once; raises ArchiveError when it is not a readable tar."""
    scan = ArchiveScan()
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
                name = norm_path(member.name)
                scan.members.add(name)
                if member.issym():
                    target = posixpath.join(posixpath.dirname(name), member.linkname)
                    scan.links[name] = norm_path(target)
                    continue
                if member.islnk():
                    scan.links[name] = norm_path(member.linkname)
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


def _scan_member(
    outer: tarfile.TarFile, member: tarfile.TarInfo, name: str, scan: ArchiveScan
) -> None:
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
