"""Build-context fingerprints: every file the build would send, hashed only when it changed.

A file is re-hashed only when its size or mtime differ from a JSON cache under the state
directory; the digest covers path, permission bits and content (mtimes are left out, as in
BuildKit's cache). Comparing two fingerprints names the files that changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.dockerignore import DockerIgnore, read_dockerignore, walk_context

_RACY_NS = 2_000_000_000  # files modified this close to a fingerprint are re-hashed next time
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    """What the fingerprint knows of one file: `lines` is None for binary files."""

    size: int
    mtime_ns: int
    sha256: str
    mode: int = 0o644
    lines: int | None = None
    link: str | None = None

    def to_list(self) -> list[Any]:
        return [self.size, self.mtime_ns, self.sha256, self.mode, self.lines, self.link]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> FileEntry:
        size, mtime_ns, sha, mode, lines, link = (list(data) + [None] * 6)[:6]
        return cls(
            size=int(size),
            mtime_ns=int(mtime_ns),
            sha256=str(sha),
            mode=int(mode) if mode is not None else 0o644,
            lines=int(lines) if lines is not None else None,
            link=str(link) if link is not None else None,
        )


@dataclass(frozen=True)
class ContextFingerprint:
    """The files of a build context (after `.dockerignore`) and one digest over them.

    `digest` covers path, permission bits and content (or symlink target) of every file;
    mtimes are not part of it (BuildKit's cache ignores them too). `hashed` counts the files
    read this time (the others came from the cache).
    """

    files: Mapping[str, FileEntry]
    digest: str
    patterns: tuple[str, ...] = ()
    hashed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "patterns": list(self.patterns),
            "files": {path: entry.to_list() for path, entry in sorted(self.files.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContextFingerprint:
        files = {str(k): FileEntry.from_list(v) for k, v in dict(data.get("files", {})).items()}
        return cls(
            files=files,
            digest=str(data.get("digest") or _digest(files)),
            patterns=tuple(str(p) for p in data.get("patterns", ())),
        )


class FingerprintCache:
    """(size, mtime_ns) -> hash memo in a JSON file, so a warm run reads no unchanged file.

    One file can serve several contexts (keyed by absolute context path); saving merges with
    what other processes saved for other contexts meanwhile, and replaces the file atomically.
    Entries of files modified within 2 s of a fingerprint are not trusted next time (a write in
    the same mtime tick could otherwise go unseen, as git's "racy" index entries). A missing,
    unreadable or foreign file is an empty cache, and one that cannot be written is skipped:
    the cache never fails a build.
    """

    VERSION = 1

    def __init__(self, path: Path) -> None:
        self.path = path
        self._roots, self._digests = self._read(path)
        self._dirty: set[str] = set()

    @classmethod
    def _read(cls, path: Path) -> tuple[dict[str, dict[str, list[Any]]], dict[str, str | None]]:
        """(entries per context root, digest per root); empty for a missing or foreign file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}, {}
        if not isinstance(data, dict) or data.get("version") != cls.VERSION:
            return {}, {}
        roots, digests = data.get("roots"), data.get("digests")
        if not isinstance(roots, dict):
            return {}, {}
        return (
            {str(k): v for k, v in roots.items() if isinstance(v, dict)},
            dict(digests) if isinstance(digests, dict) else {},
        )

    def lookup(
        self, root: str, rel: str, size: int, mtime_ns: int, mode: int
    ) -> tuple[str, int | None] | None:
        """(sha256, lines) remembered for this regular file if its size, mtime and permission
        bits are unchanged."""
        return self.lookup_in(self._roots.get(root, {}), rel, size, mtime_ns, mode)

    def entries(self, root: str) -> Mapping[str, list[Any]]:
        """The remembered entries of one context, for `lookup_in` in a loop."""
        return self._roots.get(root, {})

    @staticmethod
    def lookup_in(
        entries: Mapping[str, list[Any]], rel: str, size: int, mtime_ns: int, mode: int
    ) -> tuple[str, int | None] | None:
        raw = entries.get(rel)
        if (
            not isinstance(raw, list)
            or len(raw) < 6
            or raw[0] != size
            or raw[1] != mtime_ns
            or raw[3] != mode
            or raw[5] is not None
        ):
            return None
        sha, lines = raw[2], raw[4]
        if not isinstance(sha, str) or not (lines is None or isinstance(lines, int)):
            return None
        return sha, lines

    def known_files(self, root: str) -> int:
        return len(self._roots.get(root, {}))

    def digest(self, root: str) -> str | None:
        """The digest saved with this context's entries (valid while none of them changed)."""
        found = self._digests.get(root)
        return found if isinstance(found, str) else None

    def replace(
        self, root: str, entries: Mapping[str, FileEntry], *, started_ns: int, digest: str
    ) -> None:
        fresh = {
            rel: entry.to_list()
            for rel, entry in entries.items()
            if entry.mtime_ns < started_ns - _RACY_NS
        }
        # The digest is reused only while every entry is in the cache (none racy).
        kept_digest = digest if len(fresh) == len(entries) else None
        if self._roots.get(root) != fresh or self._digests.get(root) != kept_digest:
            self._roots[root] = fresh
            self._digests[root] = kept_digest
            self._dirty.add(root)

    def save(self) -> bool:
        """Write the cache (atomically); False when it cannot be written (unwritable place,
        full disk): a cache is only a shortcut, so the next run hashes those files again."""
        if not self._dirty:
            return True
        roots, digests = self._read(self.path)
        roots.update({root: self._roots[root] for root in self._dirty})
        digests.update({root: self._digests.get(root) for root in self._dirty})
        payload = json.dumps(
            {"version": self.VERSION, "roots": roots, "digests": digests}, separators=(",", ":")
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                return False
            raise
        self._roots, self._digests = roots, digests
        self._dirty.clear()
        return True


def _hash_file(path: str) -> tuple[str, int | None]:
    digest = hashlib.sha256()
    newlines = 0
    binary = False
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if not binary:
                if b"\0" in chunk:
                    binary = True
                else:
                    newlines += chunk.count(b"\n")
    return digest.hexdigest(), (None if binary else newlines)


def _digest(files: Mapping[str, FileEntry]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        entry = files[rel]
        digest.update(f"{rel}\0{entry.mode:o}\0{entry.sha256}\n".encode("utf-8", "surrogateescape"))
    return "sha256:" + digest.hexdigest()


def fingerprint_context(
    context_dir: Path,
    patterns: Iterable[str] | None = None,
    cache: FingerprintCache | None = None,
    *,
    dockerfile: Path | None = None,
) -> ContextFingerprint:
    """Fingerprint what BuildKit would send for `context_dir`.

    `patterns`: the `.dockerignore` patterns (None: read them from the context, or from
    `<dockerfile>.dockerignore`). With a `cache`, files whose size and mtime are unchanged
    since the last run are not read again; the cache is saved when it changed.
    """
    started_ns = time.time_ns()
    if patterns is None:
        patterns = read_dockerignore(context_dir, dockerfile)
    ignore = DockerIgnore(patterns)
    root = os.path.abspath(context_dir)
    files: dict[str, FileEntry] = {}
    hashed = links = 0
    remembered = cache.entries(root) if cache else {}
    lookup = FingerprintCache.lookup_in
    for rel, entry in walk_context(root, ignore):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(entry.path)
            sha = hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()
            files[rel] = FileEntry(st.st_size, st.st_mtime_ns, sha, mode, None, target)
            links += 1
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        known = lookup(remembered, rel, st.st_size, st.st_mtime_ns, mode) if cache else None
        if known is not None:
            files[rel] = FileEntry(st.st_size, st.st_mtime_ns, known[0], mode, known[1])
            continue
        try:
            sha, lines = _hash_file(entry.path)
        except OSError:
            continue
        hashed += 1
        files[rel] = FileEntry(st.st_size, st.st_mtime_ns, sha, mode, lines)
    digest = None
    if cache is not None:
        # Every file found unchanged in the cache, and no other file: the saved digest holds.
        if hashed == 0 and links == 0 and len(files) == cache.known_files(root):
            digest = cache.digest(root)
        if digest is None:
            digest = _digest(files)
            cache.replace(root, files, started_ns=started_ns, digest=digest)
            cache.save()
    return ContextFingerprint(
        files=files, digest=digest or _digest(files), patterns=ignore.patterns, hashed=hashed
    )


# -- what changed, and why a step re-ran -------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    """One file that differs between two fingerprints: `kind` is added/removed/modified."""

    path: str
    kind: str
    old: FileEntry | None = None
    new: FileEntry | None = None

    def describe(self) -> str:
        if self.kind == "added":
            return f"`{self.path}` was added"
        if self.kind == "removed":
            return f"`{self.path}` was removed"
        old, new = self.old, self.new
        if old is not None and new is not None:
            if old.sha256 == new.sha256 and old.mode != new.mode:
                return f"`{self.path}` changed mode ({old.mode:o} -> {new.mode:o})"
            if old.lines is not None and new.lines is not None and old.lines != new.lines:
                delta = new.lines - old.lines
                unit = "line" if abs(delta) == 1 else "lines"
                return f"`{self.path}` changed ({delta:+d} {unit})"
        return f"`{self.path}` changed (content)"


def diff_fingerprints(
    old: ContextFingerprint | None, new: ContextFingerprint | None
) -> list[FileChange]:
    """Files added, removed or modified (content or permission bits), sorted by path."""
    if old is None or new is None:
        return []
    changes: list[FileChange] = []
    for path in sorted(set(old.files) | set(new.files)):
        before, after = old.files.get(path), new.files.get(path)
        if before is None:
            changes.append(FileChange(path, "added", None, after))
        elif after is None:
            changes.append(FileChange(path, "removed", before, None))
        elif before.sha256 != after.sha256 or before.mode != after.mode:
            changes.append(FileChange(path, "modified", before, after))
    return changes
