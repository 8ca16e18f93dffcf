"""pip requirements files as pip reads them: which lines pin (`==`), which carry hashes, which
files they include (`-r` / `-c`), and package names normalized like PEP 503.

The doctor's `unpinned-requirements` check and bench's `deps-edit` scenario both read this.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*===?\s*[^\s*,;]+\s*(;.*)?$")
_INCLUDE = re.compile(r"(-r|--requirement|-c|--constraint)[\s=]+(\S+)")
_URL = ("http://", "https://", "git+", "file:")


def normalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares it: `Typing_Extensions` -> `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_local(spec: str) -> bool:
    """A path, an archive or an unexpanded variable: nothing for an index to pin."""
    return (
        spec in (".", "..")
        or spec.startswith(("./", "../", "/", "file:"))
        or spec.endswith((".whl", ".tar.gz", ".zip"))
        or ("$" in spec and "==" not in spec and "@" not in spec)
    )


def is_pinned(spec: str) -> bool:
    """`name==1.2` or `name===1.2` (markers allowed); `name @ url` only with a hash."""
    spec = spec.strip().strip("'\"")
    if " @ " in spec or spec.startswith(("http://", "https://", "git+")):
        return "#sha256=" in spec or "--hash" in spec
    return bool(_PINNED.match(spec.split(" --", 1)[0].strip()))


@dataclass(frozen=True)
class Requirement:
    """One requirement line (continuations joined, comment and options after ` --` cut)."""

    spec: str  # `flask>=3`, `psycopg[binary]==3.2.3 ; python_version >= '3.10'`
    name: str  # normalized (PEP 503); "" for a bare URL
    pinned: bool
    hashed: bool  # carries `--hash`


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    requirements: tuple[Requirement, ...] = ()
    includes: tuple[str, ...] = ()  # `-r` / `-c` files, relative to where `path` is

    @property
    def pinned(self) -> int:
        return sum(1 for r in self.requirements if r.pinned)

    @property
    def unpinned(self) -> tuple[str, ...]:
        return tuple(r.spec for r in self.requirements if not r.pinned)

    @property
    def hashed(self) -> bool:
        """Every requirement pinned with hashes (`pip-compile --generate-hashes`)."""
        hashes = sum(1 for r in self.requirements if r.hashed)
        return hashes > 0 and hashes == self.pinned

    @property
    def hash_checking(self) -> bool:
        """Some requirement carries `--hash`: pip then wants a hash on every one."""
        return any(r.hashed for r in self.requirements)

    @property
    def names(self) -> set[str]:
        return {r.name for r in self.requirements if r.name}


def _logical_lines(text: str) -> list[str]:
    """Lines without comments, `\\` continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    return [line.strip() for line in logical if line.strip()]


def parse(path: str, text: str) -> RequirementsFile:
    """One requirements file; `path` (slash-separated) places its includes."""
    base = posixpath.dirname(path)
    includes: list[str] = []
    found: list[Requirement] = []
    for line in _logical_lines(text):
        if line.startswith("-"):
            match = _INCLUDE.match(line)
            if match:
                includes.append(posixpath.normpath(posixpath.join(base, match.group(2))))
            continue  # -e, --index-url and the other options
        if is_local(line.split()[0]):
            continue
        name = _NAME.match(line)
        found.append(
            Requirement(
                spec=line.split(" --", 1)[0].strip(),
                name=normalize_name(name.group()) if name and not line.startswith(_URL) else "",
                pinned=is_pinned(line),
                hashed="--hash" in line,
            )
        )
    return RequirementsFile(path, tuple(found), tuple(includes))


def requirement_names(text: str) -> set[str]:
    """The normalized names one requirements text requires (its includes not followed)."""
    return parse("", text).names


def follow(roots: Iterable[str], read: Callable[[str], str | None]) -> list[RequirementsFile]:
    """The files `roots` name and every file they include, each once, in the order met.

    `read` gives a file's text, or None to leave the file out (outside the context, unreadable).
    """
    found: list[RequirementsFile] = []
    seen: set[str] = set()
    pending = [posixpath.normpath(root) for root in roots]
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        text = read(path)
        if text is None:
            continue
        parsed = parse(path, text)
        found.append(parsed)
        pending += parsed.includes
    return found
