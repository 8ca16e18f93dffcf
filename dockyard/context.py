"""Build-context fingerprints with Docker's own `.dockerignore` rules, and why steps re-ran.

`.dockerignore` semantics are those of BuildKit (the only builder Compose 2.x uses): the file is
read like `moby/patternmatcher/ignorefile.ReadAll`, patterns are compiled like
`moby/patternmatcher` and the context is walked like `tonistiigi/fsutil`'s filter:

* a line starting with `#` is a comment (only at column 0: ` # x` is a pattern); lines are
  trimmed; blank lines skipped; a UTF-8 BOM dropped;
* `!` makes an exception; each pattern goes through Go's `filepath.Clean`, a leading `/` is
  dropped: patterns are anchored at the context root (`build` never matches `src/build`);
* `*` and `?` never cross `/`; `**` crosses any number of directories; `[a-c]` and `\\` escapes
  work as in Go's `filepath.Match`;
* a pattern that matches a directory matches everything under it; the **last** matching
  pattern wins, so `!docs/keep.md` after `docs` re-includes that file;
* `Dockerfile` and `.dockerignore` are ordinary files there: BuildKit sends them only if the
  patterns let them through (the Dockerfile itself travels separately).

Python libraries checked before writing this: docker-py's `docker.utils.build.PatternMatcher`
ports the old moby `Matches` (it checks one parent prefix only, so `**/__pycache__` misses
`a/b/__pycache__/x.pyc`) and always re-adds `.dockerignore` and the Dockerfile, as the classic
builder did; `pathspec` implements gitignore (where `build` matches `src/build`). Neither gives
BuildKit's answer, so the matcher is here, small, and proven against the engine in
tests/docker/test_dockerignore_engine.py.

Nothing here imports python-on-whales or rich: this is pure analysis plus a file walk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.progress import BuildReport

__all__ = [
    "ContextFingerprint",
    "DockerIgnore",
    "FileChange",
    "FileEntry",
    "FingerprintCache",
    "StepRecord",
    "context_files",
    "copy_sources",
    "diff_fingerprints",
    "explain_misses",
    "fingerprint_context",
    "go_clean",
    "parse_dockerignore",
    "read_dockerignore",
    "records_from_report",
    "step_key",
]

_BOM = "\ufeff"
_ESCAPE = set(".+()|{}$")
_PATTERN_CHARS = set("*[]?^\\")
_RACY_NS = 2_000_000_000  # files modified this close to a fingerprint are re-hashed next time
_CHUNK = 1 << 20


# -- .dockerignore -----------------------------------------------------------------------------


def go_clean(path: str) -> str:
    """Go's `path.Clean`: the shortest equivalent slash path (`""` -> `"."`, `/..` -> `/`)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def parse_dockerignore(text: str) -> list[str]:
    """The patterns of a `.dockerignore` text, preprocessed like BuildKit's `ReadAll`."""
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines()):
        line = raw[1:] if number == 0 and raw.startswith(_BOM) else raw
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            if os.sep == "\\":
                line = line.replace("\\", "/")  # Windows: `\` is a separator, not an escape
            line = go_clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        patterns.append("!" + line if invert else line)
    return patterns


def dockerignore_file(context_dir: Path, dockerfile: Path | None = None) -> Path | None:
    """The ignore file a build uses: `<Dockerfile>.dockerignore` beside the Dockerfile wins
    over `<context>/.dockerignore` (BuildKit's rule); None when there is neither."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context_dir / ".dockerignore")
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def read_dockerignore(context_dir: Path, dockerfile: Path | None = None) -> list[str]:
    """Patterns for a build (see `dockerignore_file`); no file means no patterns."""
    found = dockerignore_file(context_dir, dockerfile)
    if found is None:
        return []
    return parse_dockerignore(found.read_text(encoding="utf-8", errors="replace"))


class _Pattern:
    """One compiled pattern, as `moby/patternmatcher.Pattern.compile` does it."""

    __slots__ = ("cleaned", "depth", "exclusion", "kind", "literal", "regex")

    def __init__(self, cleaned: str, exclusion: bool) -> None:
        self.cleaned = cleaned
        self.exclusion = exclusion
        self.regex: re.Pattern[str] | None = None
        self.kind = self._compile()
        # For skipping patterns that cannot match below a directory (a speed-up only):
        # every path it matches starts with `literal` and, without `**`, has `depth` parts.
        self.literal = re.split(r"[*?\[\]\\]", cleaned, maxsplit=1)[0]
        self.depth = None if "**" in cleaned else cleaned.count("/") + 1

    def can_match_in(self, dir_slash: str, depth: int) -> bool:
        """Whether a path of `depth` parts directly in `dir_slash` ("" = root) can match."""
        if self.depth is not None and self.depth != depth:
            return False
        return self.literal.startswith(dir_slash) or dir_slash.startswith(self.literal)

    def _compile(self) -> str:
        pattern = self.cleaned
        out = ["^"]
        kind = "exact"
        i = 0
        first = True
        n = len(pattern)
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            out.append(".*")
                            kind = "regexp"
                    else:
                        out.append("(.*/)?")
                        kind = "regexp"
                    if first:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                out.append("[^/]")
                kind = "regexp"
            elif ch in _ESCAPE:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    out.append("\\" + pattern[i])
                    i += 1
                    kind = "regexp"
                else:
                    out.append("\\\\")
            elif ch in "[]":
                out.append(ch)
                kind = "regexp"
            else:
                out.append(ch)
            first = False
        if kind == "regexp":
            try:
                self.regex = re.compile("".join(out) + r"\Z")
            except re.error as exc:
                raise ValueError(f"bad .dockerignore pattern {self.cleaned!r}: {exc}") from exc
        return kind

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None

    def tester(self) -> Callable[[str], object]:
        """`match` as one fast callable (truthy when the path matches), for the walk."""
        if self.kind == "exact":
            return self.cleaned.__eq__
        if self.kind == "prefix":
            prefix = self.cleaned[:-2]
            return lambda path: path.startswith(prefix)
        if self.kind == "suffix":
            return self.match
        assert self.regex is not None
        return self.regex.match

    def without_trailing_glob(self) -> str:
        text = self.cleaned
        for tail in ("/**", "/*"):
            if text.endswith(tail):
                text = text[: -len(tail)]
        return text


ParentInfo = tuple[bool, ...]


class DockerIgnore:
    """Docker's `.dockerignore` matcher over slash-separated paths relative to the context."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise ValueError('illegal exclusion pattern: "!"')
                text = text[1:]
            self._patterns.append(_Pattern(text, exclusion))
        self.patterns: tuple[str, ...] = tuple(
            ("!" if p.exclusion else "") + p.cleaned for p in self._patterns
        )
        self.has_exceptions = any(p.exclusion for p in self._patterns)
        self._tests = [(p.exclusion, p.tester()) for p in self._patterns]
        self._exception_prefixes = [
            p.without_trailing_glob() + "/" for p in self._patterns if p.exclusion
        ]
        # fsutil may skip an excluded directory only when every exception is a plain prefix.
        self._can_prune = not any(
            _PATTERN_CHARS & set(p.without_trailing_glob()) for p in self._patterns if p.exclusion
        )

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        return cls(parse_dockerignore(text))

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def excluded(self, path: str) -> bool:
        """True when `path` (file or directory) is left out of the context.

        `MatchesOrParentMatches`: each pattern is tried on the path and on every parent
        directory; the last pattern that matches decides.
        """
        path = go_clean(path.replace(os.sep, "/"))
        if path == ".":
            return False
        parents = path.split("/")[:-1]
        matched = False
        for pattern in self._patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit:
                for i in range(len(parents)):
                    if pattern.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def included(self, path: str) -> bool:
        return not self.excluded(path)

    def live_patterns(self, dir_slash: str) -> tuple[bool, ...]:
        """Per pattern: can it match an entry directly inside this directory?"""
        depth = dir_slash.count("/") + 1
        return tuple(p.can_match_in(dir_slash, depth) for p in self._patterns)

    def match_using_parent(
        self, path: str, parent: ParentInfo | None, live: tuple[bool, ...] | None = None
    ) -> tuple[bool, ParentInfo]:
        """`MatchesUsingParentResults`, as fsutil's walk calls it (parent results per pattern).

        `live` (from `live_patterns` of the path's directory) lets it skip patterns that
        cannot match there; the result is the same without it.
        """
        matched = False
        info: list[bool] = []
        append = info.append
        for i, (exclusion, test) in enumerate(self._tests):
            hit = parent[i] if parent else False
            if not hit:
                if exclusion != matched or (live is not None and not live[i]):
                    append(False)
                    continue
                hit = bool(test(path))
                if not hit and not parent and "/" in path:
                    parents = path.split("/")[:-1]
                    for j in range(len(parents)):
                        if test("/".join(parents[: j + 1])):
                            hit = True
                            break
            append(hit)
            if hit:
                matched = not exclusion
        return matched, tuple(info)

    def can_skip_dir(self, path: str) -> bool:
        """Whether an excluded directory can be skipped without missing a re-included file."""
        if not self.has_exceptions:
            return True
        if not self._can_prune:
            return False
        prefix = path + "/"
        return not any(exc.startswith(prefix) for exc in self._exception_prefixes)


def _walk(root: str, ignore: DockerIgnore) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Files and symlinks BuildKit would send, as (slash relpath, DirEntry), sorted by path."""
    use_ignore = bool(ignore)
    stack: list[tuple[str, str, ParentInfo | None]] = [(root, "", None)]
    while stack:
        directory, prefix, parent = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        subdirs: list[tuple[str, str, ParentInfo | None]] = []
        live = ignore.live_patterns(prefix) if use_ignore else None
        for entry in entries:
            rel = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if use_ignore:
                excluded, info = ignore.match_using_parent(rel, parent, live)
                if excluded:
                    if is_dir and not ignore.can_skip_dir(rel):
                        subdirs.append((entry.path, rel + "/", info))
                    continue
            else:
                info = None
            if is_dir:
                subdirs.append((entry.path, rel + "/", info))
            else:
                yield rel, entry
        stack.extend(reversed(subdirs))


def context_files(context_dir: Path, patterns: Iterable[str] = ()) -> list[str]:
    """Slash relpaths of the files and symlinks that BuildKit sends for this context."""
    return sorted(rel for rel, _ in _walk(os.fspath(context_dir), DockerIgnore(patterns)))


# -- fingerprint -------------------------------------------------------------------------------


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
    unreadable or foreign file is an empty cache.
    """

    VERSION = 1

    def __init__(self, path: Path) -> None:
        self.path = path
        self._roots = self._read(path)
        self._dirty: set[str] = set()

    @classmethod
    def _read(cls, path: Path) -> dict[str, dict[str, list[Any]]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != cls.VERSION:
            return {}
        roots = data.get("roots")
        if not isinstance(roots, dict):
            return {}
        return {str(k): v for k, v in roots.items() if isinstance(v, dict)}

    def lookup(
        self, root: str, rel: str, size: int, mtime_ns: int
    ) -> tuple[str, int | None] | None:
        """(sha256, lines) remembered for this file if its size and mtime are unchanged."""
        raw = self._roots.get(root, {}).get(rel)
        if raw is None or raw[:2] != [size, mtime_ns] or len(raw) < 6 or raw[5] is not None:
            return None
        sha, lines = raw[2], raw[4]
        if not isinstance(sha, str) or not (lines is None or isinstance(lines, int)):
            return None
        return sha, lines

    def replace(self, root: str, entries: Mapping[str, FileEntry], *, started_ns: int) -> None:
        fresh = {
            rel: entry.to_list()
            for rel, entry in entries.items()
            if entry.mtime_ns < started_ns - _RACY_NS
        }
        if self._roots.get(root) != fresh:
            self._roots[root] = fresh
            self._dirty.add(root)

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        roots = self._read(self.path)
        roots.update({root: self._roots[root] for root in self._dirty})
        payload = json.dumps({"version": self.VERSION, "roots": roots}, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._roots = roots
        self._dirty.clear()


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
    hashed = 0
    for rel, entry in _walk(root, ignore):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(entry.path)
            sha = hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()
            files[rel] = FileEntry(st.st_size, st.st_mtime_ns, sha, mode, None, target)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        known = cache.lookup(root, rel, st.st_size, st.st_mtime_ns) if cache else None
        if known is not None:
            files[rel] = FileEntry(st.st_size, st.st_mtime_ns, known[0], mode, known[1])
            continue
        try:
            sha, lines = _hash_file(entry.path)
        except OSError:
            continue
        hashed += 1
        files[rel] = FileEntry(st.st_size, st.st_mtime_ns, sha, mode, lines)
    if cache is not None:
        cache.replace(root, files, started_ns=started_ns)
        cache.save()
    return ContextFingerprint(
        files=files, digest=_digest(files), patterns=ignore.patterns, hashed=hashed
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


@dataclass(frozen=True)
class StepRecord:
    """What the ledger keeps of one Dockerfile step of one build (JSON-friendly).

    Make them from `dockyard.progress.Step`: `StepRecord(step.stage, step.instruction,
    step.cached)`, in build order (`BuildReport.dockerfile_steps`).
    """

    stage: str | None
    instruction: str
    cached: bool

    @property
    def key(self) -> str:
        return step_key(self.stage, self.instruction)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "instruction": self.instruction, "cached": self.cached}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        stage = data.get("stage")
        return cls(
            stage=str(stage) if stage is not None else None,
            instruction=str(data.get("instruction", "")),
            cached=bool(data.get("cached", False)),
        )


def records_from_report(report: BuildReport) -> list[StepRecord]:
    """A service's Dockerfile steps (in build order) as StepRecords for the ledger."""
    return [StepRecord(s.stage, s.instruction, s.cached) for s in report.dockerfile_steps]


def step_key(stage: str | None, instruction: str) -> str:
    """How a step is identified across builds: stage plus instruction text."""
    return f"[{stage}] {instruction}" if stage else instruction


@dataclass(frozen=True)
class _Copy:
    sources: tuple[str, ...]
    from_stage: str | None
    heredoc: bool = False


def _parse_copy(instruction: str) -> _Copy | None:
    keyword, _, rest = instruction.strip().partition(" ")
    if keyword.upper() not in ("COPY", "ADD"):
        return None
    rest = rest.strip()
    if "<<" in rest:
        return _Copy((), None, heredoc=True)
    from_stage: str | None = None
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        rest = rest.strip()
        if flag.startswith("--from="):
            from_stage = flag.split("=", 1)[1]
    args: list[str] = []
    if rest.startswith("["):
        try:
            args = [str(a) for a in json.loads(rest)]
        except ValueError:
            args = []
    if not args:
        try:
            args = shlex.split(rest, posix=True)
        except ValueError:
            args = rest.split()
    sources = tuple(args[:-1]) if len(args) > 1 else ()
    return _Copy(sources, from_stage)


def copy_sources(instruction: str) -> tuple[str, ...] | None:
    """Context paths a COPY/ADD reads (`.` = all); None when it reads none from the context
    (not COPY/ADD, `--from=`, heredoc, URLs)."""
    parsed = _parse_copy(instruction)
    if parsed is None or parsed.from_stage is not None or parsed.heredoc:
        return None
    local = tuple(src for src in parsed.sources if "://" not in src and not src.startswith("git@"))
    return local or None


def _source_matches(source: str, path: str) -> bool:
    src = go_clean(source.lstrip("/"))
    if src in (".", ""):
        return True
    matcher = _Pattern(src, False)
    parts = path.split("/")
    return any(matcher.match("/".join(parts[: i + 1])) for i in range(len(parts)))


def _names(changes: Sequence[FileChange], limit: int = 3) -> str:
    shown = [c.describe() for c in changes[:limit]]
    text = ", ".join(shown)
    if len(changes) > limit:
        text += f" and {len(changes) - limit} more"
    return text


def explain_misses(
    steps: Sequence[StepRecord],
    previous_steps: Sequence[StepRecord] | None,
    old_fingerprint: ContextFingerprint | None = None,
    new_fingerprint: ContextFingerprint | None = None,
    old_build_args: Mapping[str, str] | None = None,
    new_build_args: Mapping[str, str] | None = None,
    old_base_digest: str | None = None,
    new_base_digest: str | None = None,
) -> dict[str, str]:
    """For every step that ran (not from cache), one line saying why.

    `steps` and `previous_steps` are one service's Dockerfile steps in build order. The
    reason for a step, first that applies: no earlier build; the instruction is new; an earlier
    step of its stage re-ran (named); the base image digest changed; for `COPY`/`ADD`, the
    files it reads changed (up to 3 named, with line counts); for `COPY --from=X`, stage X
    re-ran; a build arg changed; otherwise the cache was simply not there (pruned, another
    builder). `FROM` steps are left out unless the base digest changed.
    """
    reasons: dict[str, str] = {}
    previous = list(previous_steps or [])
    by_key = {s.key: s for s in previous}
    by_instruction = {s.instruction: s for s in previous}
    changes = diff_fingerprints(old_fingerprint, new_fingerprint)
    context_changed = (
        old_fingerprint is not None
        and new_fingerprint is not None
        and old_fingerprint.digest != new_fingerprint.digest
    )
    old_args, new_args = dict(old_build_args or {}), dict(new_build_args or {})
    changed_args = sorted(
        k for k in set(old_args) | set(new_args) if old_args.get(k) != new_args.get(k)
    )
    base_changed = bool(old_base_digest and new_base_digest and old_base_digest != new_base_digest)
    last_rerun_in_stage: dict[str | None, StepRecord] = {}
    rerun_stages: dict[str, StepRecord] = {}

    for step in steps:
        is_from = step.instruction.upper().startswith("FROM ")
        if step.cached:
            continue
        quoted = f"`{step.instruction}`"
        reason: str
        if is_from:
            if base_changed:
                reasons[step.key] = (
                    f"{quoted} re-ran because the base image digest changed "
                    f"({_short(old_base_digest)} -> {_short(new_base_digest)})"
                )
            continue
        earlier = last_rerun_in_stage.get(step.stage)
        if not previous:
            reason = f"{quoted} ran: no earlier build to compare with"
        elif step.key not in by_key and step.instruction not in by_instruction:
            reason = f"{quoted} ran: the instruction is new or changed since the last build"
        elif earlier is not None:
            reason = f"{quoted} re-ran because an earlier step re-ran: `{earlier.instruction}`"
        elif base_changed:
            reason = (
                f"{quoted} re-ran because the base image digest changed "
                f"({_short(old_base_digest)} -> {_short(new_base_digest)})"
            )
        else:
            reason = _own_reason(
                step,
                quoted,
                changes,
                context_changed,
                changed_args,
                rerun_stages,
                old_args,
                new_args,
            )
        reasons[step.key] = reason
        last_rerun_in_stage[step.stage] = step
        if step.stage:
            rerun_stages[step.stage] = step
    return reasons


def _own_reason(
    step: StepRecord,
    quoted: str,
    changes: Sequence[FileChange],
    context_changed: bool,
    changed_args: Sequence[str],
    rerun_stages: Mapping[str, StepRecord],
    old_args: Mapping[str, str],
    new_args: Mapping[str, str],
) -> str:
    parsed = _parse_copy(step.instruction)
    if parsed is not None and parsed.from_stage is not None:
        source = rerun_stages.get(parsed.from_stage)
        if source is not None:
            return (
                f"{quoted} re-ran because stage `{parsed.from_stage}` changed "
                f"(`{source.instruction}` re-ran)"
            )
    sources = copy_sources(step.instruction)
    if sources is not None:
        touched = [c for c in changes if any(_source_matches(s, c.path) for s in sources)]
        if touched:
            return f"{quoted} re-ran because {_names(touched)}"
        if context_changed and not changes:
            return f"{quoted} re-ran because the build context changed"
    if changed_args:
        described = ", ".join(
            f"`{name}` ({_arg_value(old_args.get(name))} -> {_arg_value(new_args.get(name))})"
            for name in changed_args[:3]
        )
        plural = "s" if len(changed_args) > 1 else ""
        return f"{quoted} re-ran because build arg{plural} {described} changed"
    return (
        f"{quoted} re-ran though no input changed that dockyard tracks "
        "(build cache pruned, or built by another builder)"
    )


def _arg_value(value: str | None) -> str:
    if value is None:
        return "unset"
    return "set" if value else "empty"


def _short(digest: str | None) -> str:
    if not digest:
        return "?"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:12]
