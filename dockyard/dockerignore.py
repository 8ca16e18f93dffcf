"""`.dockerignore` exactly as BuildKit applies it, and the files a build context sends.

The file is read like `moby/patternmatcher/ignorefile.ReadAll`, patterns are compiled like
`moby/patternmatcher`, the context is walked like `tonistiigi/fsutil`'s filter (anchored at the
context root, `**`, `!` exceptions, last match wins). No PyPI library gives BuildKit's answer
(docker-py and pathspec differ; see the README); tests/docker/test_dockerignore_engine.py proves
this one against the engine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

_BOM = "\ufeff"
_ESCAPE = set(".+()|{}$")
_PATTERN_CHARS = set("*[]?^\\")


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


class Pattern:
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
            suffix = self.cleaned[2:]
            if suffix.startswith("/"):
                whole = suffix[1:]
                return lambda path: path.endswith(suffix) or path == whole
            return lambda path: path.endswith(suffix)
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
        self._patterns: list[Pattern] = []
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
            self._patterns.append(Pattern(text, exclusion))
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

    def file_rule(
        self, parent: ParentInfo | None, live: tuple[bool, ...]
    ) -> tuple[bool, list[tuple[bool, Callable[[str], object]]]]:
        """For the files of one directory, `match_using_parent` as (default, tests): a file is
        excluded by the first of `tests` (last pattern first) that matches it, else `default`.

        In `match_using_parent` the last pattern that hits decides (its skips never change the
        outcome, only the per-pattern results a directory hands down); a pattern the parent
        matched always hits. So only the live patterns after the parent's last hit need a test,
        once per file: the walk's per-file cost is a test or two, not a loop over all patterns.
        """
        last = -1
        if parent:
            last = max((i for i, hit in enumerate(parent) if hit), default=-1)
        default = last >= 0 and not self._tests[last][0]
        tests = [
            (not exclusion, test)
            for i, (exclusion, test) in enumerate(self._tests)
            if i > last and live[i]
        ]
        tests.reverse()
        return default, tests

    def can_skip_dir(self, path: str) -> bool:
        """Whether an excluded directory can be skipped without missing a re-included file."""
        if not self.has_exceptions:
            return True
        if not self._can_prune:
            return False
        prefix = path + "/"
        return not any(exc.startswith(prefix) for exc in self._exception_prefixes)


def walk_context(root: str, ignore: DockerIgnore) -> Iterator[tuple[str, os.DirEntry[str]]]:
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
        default, tests = ignore.file_rule(parent, live) if live is not None else (False, [])
        for entry in entries:
            rel = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if not is_dir:
                excluded = default
                for excludes, test in tests:
                    if test(rel):
                        excluded = excludes
                        break
                if not excluded:
                    yield rel, entry
                continue
            info: ParentInfo | None = None
            if use_ignore:
                excluded, info = ignore.match_using_parent(rel, parent, live)
                if excluded and ignore.can_skip_dir(rel):
                    continue
            subdirs.append((entry.path, rel + "/", info))
        stack.extend(reversed(subdirs))


def context_files(context_dir: Path, patterns: Iterable[str] = ()) -> list[str]:
    """Slash relpaths of the files and symlinks that BuildKit sends for this context."""
    return sorted(rel for rel, _ in walk_context(os.fspath(context_dir), DockerIgnore(patterns)))
