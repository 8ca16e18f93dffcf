"""A small Dockerfile reader: instructions with line numbers, stages, base images.

Enough for dockyard's own needs (base image digests for cache-miss reasons, the doctor's
checks); it follows Docker's rules for line continuations, comments, parser directives and
`${VAR}` / `${VAR:-default}` substitution of build args in `FROM`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?(?P<op>[-+])(?P<word>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class Instruction:
    """One instruction: `keyword` upper-cased, `flags` like `--mount=...`, `args` the rest."""

    line: int  # 1-based line where it starts
    keyword: str
    flags: tuple[str, ...]
    args: str
    raw: str

    def flag_values(self, name: str) -> list[str]:
        prefix = f"--{name}="
        return [flag[len(prefix) :] for flag in self.flags if flag.startswith(prefix)]


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str  # as written (may hold ${ARG})
    instructions: tuple[Instruction, ...] = field(default=())


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    directives: Mapping[str, str]

    @property
    def global_args(self) -> dict[str, str | None]:
        """`ARG` defaults declared before the first FROM (usable in FROM lines)."""
        found: dict[str, str | None] = {}
        for ins in self.instructions:
            if ins.keyword == "FROM":
                break
            if ins.keyword == "ARG":
                for name, default in parse_arg(ins.args):
                    found[name] = default
        return found

    @property
    def stages(self) -> list[Stage]:
        stages: list[Stage] = []
        current: list[Instruction] = []
        header: Instruction | None = None
        for ins in self.instructions:
            if ins.keyword == "FROM":
                if header is not None:
                    stages.append(_stage(len(stages), header, current))
                header, current = ins, []
            elif header is not None:
                current.append(ins)
        if header is not None:
            stages.append(_stage(len(stages), header, current))
        return stages

    def base_images(self, build_args: Mapping[str, str] | None = None) -> list[str]:
        """External images the stages start from (not earlier stages, not `scratch`)."""
        values = {k: v for k, v in self.global_args.items() if v is not None}
        values.update(build_args or {})
        names: set[str] = set()
        bases: list[str] = []
        for stage in self.stages:
            image = substitute(stage.base, values)
            if image.lower() != "scratch" and image not in names and image not in bases:
                bases.append(image)
            if stage.name:
                names.add(stage.name)
        return bases


def _stage(index: int, header: Instruction, body: list[Instruction]) -> Stage:
    words = header.args.split()
    name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    return Stage(index, name, words[0] if words else "", tuple(body))


def parse_arg(args: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B` -> [("A", "1"), ("B", None)]."""
    result: list[tuple[str, str | None]] = []
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()
    for word in words:
        name, sep, default = word.partition("=")
        result.append((name, default if sep else None))
    return result


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Expand `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}` as the Dockerfile frontend does."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        value = values.get(name, "")
        op = match.group("op")
        if op == "-":
            return value or match.group("word")
        if op == "+":
            return match.group("word") if value else ""
        return value

    return _VARIABLE.sub(replace, text)


def parse(text: str) -> Dockerfile:
    """Split a Dockerfile into instructions (continuations joined, comments dropped)."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    escape = "\\"
    index = 0
    # Parser directives: only at the very top, before any instruction, comment or blank line.
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if not match:
            break
        directives[match.group(1).lower()] = match.group(2)
        index += 1
    if directives.get("escape") == "`":
        escape = "`"
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number in range(index, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored
        if not pending:
            start = number + 1
        if line.rstrip().endswith(escape):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        instructions.append(_instruction(start, " ".join(p.strip() for p in pending)))
        pending = []
    if pending:
        instructions.append(_instruction(start, " ".join(p.strip() for p in pending)))
    return Dockerfile(tuple(instructions), directives)


def _instruction(line: int, text: str) -> Instruction:
    keyword, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    flags: list[str] = []
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.strip()
    return Instruction(line, keyword.upper(), tuple(flags), rest, text.strip())


def stage_names(dockerfile: Dockerfile) -> Sequence[str]:
    return [stage.name for stage in dockerfile.stages if stage.name]
