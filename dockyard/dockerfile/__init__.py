"""A Dockerfile as Docker reads it: instructions, stages, and which stage builds on what.

Parsing is BuildKit's own (`dockyard.dockerfile.parser`); on top of it, the rules of the
Dockerfile frontend that dockyard needs: stage names compare case-insensitively, `FROM` lines
see only the `ARG`s declared before the first `FROM` (build args override their defaults), a
`FROM <earlier stage>` continues that stage, `--target` picks the final stage, and `USER` /
`ENV` values pass from a stage to the stages built on it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dockyard.dockerfile.parser import Command, DockerfileSyntaxError, parse_string

__all__ = [
    "Dockerfile",
    "DockerfileSyntaxError",
    "ExternalImage",
    "Instruction",
    "Stage",
    "parse",
    "parse_arg",
    "substitute",
]

_VARIABLE = re.compile(
    r"\\\$|\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Expand `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}` like the frontend.

    An unset variable expands to nothing; `\\$` stays a literal `$`.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group("braced") or match.group("plain")
        value = values.get(name)
        op = match.group("op")
        if op == ":-":
            return value or match.group("word")
        if op == "-":
            return match.group("word") if value is None else value
        if op == ":+":
            return match.group("word") if value else ""
        if op == "+":
            return "" if value is None else match.group("word")
        return value or ""

    return _VARIABLE.sub(replace, text)


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


@dataclass(frozen=True)
class Instruction:
    """One instruction. `keyword` is upper-cased, `flags` are `--name=value` words, `args` the
    text after them (JSON form as written), `value` BuildKit's parsed arguments."""

    line: int  # 1-based line where it starts
    end_line: int
    keyword: str
    flags: tuple[str, ...]
    args: str
    raw: str
    value: tuple[str, ...] = ()
    json: bool = False
    heredocs: tuple[str, ...] = ()  # the bodies of `<<EOF` documents, in order

    def flag_values(self, name: str) -> list[str]:
        prefix = f"--{name}="
        return [flag[len(prefix) :] for flag in self.flags if flag.startswith(prefix)]

    def env(self) -> dict[str, str]:
        """`ENV A=1 B="x y"` (or the legacy `ENV A 1`) as the build sees it: BuildKit's parser
        gives name, value pairs and leaves the quotes in, which the shell lexer removes."""
        value = self.value
        return {value[i]: _unquoted(value[i + 1]) for i in range(0, len(value) - 1, 2)}

    @property
    def script(self) -> str:
        """What a RUN executes: its command line and the bodies of its heredocs."""
        return "\n".join([self.args, *self.heredocs]) if self.heredocs else self.args

    @classmethod
    def from_command(cls, command: Command) -> Instruction:
        keyword = command.cmd.upper()
        args = command.original.strip()[len(command.cmd) :].lstrip()
        for flag in command.flags:
            if args.startswith(flag):
                args = args[len(flag) :].lstrip()
        if command.heredocs:  # the documents follow on later lines: args is the first line
            args = args.split("\n", 1)[0].rstrip()
        return cls(
            line=command.start_line,
            end_line=command.end_line,
            keyword=keyword,
            flags=tuple(command.flags),
            args=args,
            raw=command.original,
            value=tuple(command.value),
            json=command.json,
            heredocs=tuple(doc.content for doc in command.heredocs),
        )


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None  # as written; compare with `key`
    base: str  # the FROM image as written (may hold ${ARG})
    platform: str | None
    line: int
    instructions: tuple[Instruction, ...] = field(default=())

    @property
    def key(self) -> str | None:
        """The name as Docker compares it (case-insensitive)."""
        return self.name.lower() if self.name else None

    @property
    def label(self) -> str:
        return self.name or str(self.index)


@dataclass(frozen=True)
class ExternalImage:
    """An image a build pulls in from outside the Dockerfile, and where."""

    reference: str
    line: int
    how: str  # "FROM", "COPY --from", "RUN --mount from"
    stage: str
    # As the Dockerfile writes it, before ARG substitution (`${PYTHON_IMAGE}`).
    written: str = field(default="", compare=False)

    @property
    def variables(self) -> tuple[str, ...]:
        """The ARGs the reference is written with (`FROM ${PYTHON_IMAGE}` -> PYTHON_IMAGE)."""
        return tuple(
            name
            for match in _VARIABLE.finditer(self.written)
            if (name := match.group("braced") or match.group("plain"))
        )


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    directives: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def directive_line(self, name: str) -> int | None:
        """The line of a parser directive (`# syntax=`): directives are only read on the first
        lines, one a line, and the first line that is none ends them, so the n-th is on line n."""
        names = [key.lower() for key in self.directives]
        return names.index(name) + 1 if name in names else None

    # -- arguments ---------------------------------------------------------------------------
    @cached_property
    def global_args(self) -> dict[str, str | None]:
        """`ARG` declared before the first FROM (the only ones FROM lines can use)."""
        found: dict[str, str | None] = {}
        for ins in self.instructions:
            if ins.keyword == "FROM":
                break
            if ins.keyword == "ARG":
                for name, default in parse_arg(ins.args):
                    found[name] = default
        return found

    def from_values(self, build_args: Mapping[str, str] | None = None) -> dict[str, str]:
        """The values FROM lines see: declared global ARGs, build args over their defaults."""
        given = build_args or {}
        values: dict[str, str] = {}
        for name, default in self.global_args.items():
            if name in given:
                values[name] = given[name]
            elif default is not None:
                values[name] = default
        return values

    # -- stages ------------------------------------------------------------------------------
    @cached_property
    def stages(self) -> tuple[Stage, ...]:
        stages: list[Stage] = []
        header: Instruction | None = None
        body: list[Instruction] = []
        for ins in (*self.instructions, None):
            if ins is not None and ins.keyword != "FROM":
                if header is not None:
                    body.append(ins)
                continue
            if header is not None:
                stages.append(_stage(len(stages), header, body))
            header, body = ins, []
        return tuple(stages)

    def stage_named(self, name: str, *, before: int | None = None) -> Stage | None:
        """The stage called `name` (any case), among the first `before` stages if given."""
        key = name.lower()
        candidates = self.stages if before is None else self.stages[:before]
        found = [stage for stage in candidates if stage.key == key]
        return found[-1] if found else None

    def target_stage(self, target: str | None = None) -> Stage | None:
        """The stage a build with `--target` (or without: the last one) ends in."""
        if not self.stages:
            return None
        if target:
            return self.stage_named(target)
        return self.stages[-1]

    def parent(self, stage: Stage, build_args: Mapping[str, str] | None = None) -> Stage | str:
        """What `stage` starts from: an earlier stage, or an external image reference."""
        image = substitute(stage.base, self.from_values(build_args))
        earlier = self.stage_named(image, before=stage.index)
        return earlier if earlier is not None else image

    def chain(
        self, target: str | None = None, build_args: Mapping[str, str] | None = None
    ) -> tuple[list[Stage], str | None]:
        """The target stage and the stages under it (`FROM <stage>`), top first, and the external
        image at the bottom ("scratch" for FROM scratch; None without any FROM)."""
        stage = self.target_stage(target)
        stages: list[Stage] = []
        while stage is not None and stage not in stages:
            stages.append(stage)
            parent = self.parent(stage, build_args)
            if isinstance(parent, str):
                return stages, "scratch" if parent.lower() == "scratch" else parent
            stage = parent
        return stages, None

    def final_base(
        self, build_args: Mapping[str, str] | None = None, target: str | None = None
    ) -> str | None:
        """The image under the built image: the target stage's FROM, followed back through
        earlier stages. "scratch" for FROM scratch; None without a FROM."""
        return self.chain(target, build_args)[1]

    def final_user(
        self, build_args: Mapping[str, str] | None = None, target: str | None = None
    ) -> tuple[str | None, str | None]:
        """(the USER the built image runs as, or None; the external base image when no stage in
        the chain sets USER, so the base image's own user applies)."""
        stages, base = self.chain(target, build_args)
        given = build_args or {}
        globals_ = self.from_values(build_args)
        env: dict[str, str] = {}
        user: str | None = None
        for stage in reversed(stages):  # bottom first: ENV and USER carry up the chain
            values = dict(env)
            for ins in stage.instructions:
                if ins.keyword == "ARG":
                    for name, default in parse_arg(ins.args):
                        if name in given:
                            values[name] = given[name]
                        elif default is not None:
                            values[name] = substitute(default, values)
                        elif name in globals_:
                            values[name] = globals_[name]
                elif ins.keyword == "ENV":
                    for name, value in ins.env().items():
                        env[name] = values[name] = substitute(value, values)
                elif ins.keyword == "USER":
                    user = substitute(ins.args.strip(), values)
        if user is not None:
            return user, None
        return None, None if base in (None, "scratch") else base

    def needed_stages(
        self, target: str | None = None, build_args: Mapping[str, str] | None = None
    ) -> list[Stage]:
        """Every stage a build of `target` runs: its chain and what it copies or mounts from."""
        first = self.target_stage(target)
        if first is None:
            return []
        needed: list[Stage] = []
        pending = [first]
        while pending:
            stage = pending.pop()
            if stage in needed:
                continue
            needed.append(stage)
            parent = self.parent(stage, build_args)
            if isinstance(parent, Stage):
                pending.append(parent)
            for ref, _, _ in _from_refs(stage):
                used = self.stage_named(ref, before=stage.index) or _stage_by_index(self, ref)
                if used is not None:
                    pending.append(used)
        return sorted(needed, key=lambda s: s.index)

    def external_images(
        self, build_args: Mapping[str, str] | None = None, target: str | None = None
    ) -> list[ExternalImage]:
        """Images from outside the Dockerfile a build of `target` needs: bases of its stages,
        `COPY --from=<image>` and `RUN --mount=from=<image>` sources (scratch left out)."""
        found: list[ExternalImage] = []
        values = self.from_values(build_args)
        for stage in self.needed_stages(target, build_args):
            parent = self.parent(stage, build_args)
            if isinstance(parent, str) and parent.lower() != "scratch":
                found.append(ExternalImage(parent, stage.line, "FROM", stage.label, stage.base))
            for ref, line, how in _from_refs(stage):
                if self.stage_named(ref, before=stage.index) or _stage_by_index(self, ref):
                    continue
                image = substitute(ref, values)
                if image.lower() != "scratch":
                    found.append(ExternalImage(image, line, how, stage.label, ref))
        return found

    def base_images(
        self, build_args: Mapping[str, str] | None = None, target: str | None = None
    ) -> list[str]:
        """The external images the build of `target` starts stages from, once each."""
        found: list[str] = []
        for image in self.external_images(build_args, target):
            if image.how == "FROM" and image.reference not in found:
                found.append(image.reference)
        return found


def _unquoted(word: str) -> str:
    try:
        return " ".join(shlex.split(word, posix=True))
    except ValueError:
        return word


def _stage(index: int, header: Instruction, body: list[Instruction]) -> Stage:
    words = list(header.value)
    name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    platform = next(iter(header.flag_values("platform")), None)
    return Stage(index, name, words[0] if words else "", platform, header.line, tuple(body))


def _stage_by_index(dockerfile: Dockerfile, ref: str) -> Stage | None:
    """`COPY --from=0`: a stage by its number."""
    if ref.isdigit() and int(ref) < len(dockerfile.stages):
        return dockerfile.stages[int(ref)]
    return None


def _from_refs(stage: Stage) -> list[tuple[str, int, str]]:
    """(reference, line, how) of `COPY --from=X` and `RUN --mount=...,from=X` in a stage."""
    refs: list[tuple[str, int, str]] = []
    for ins in stage.instructions:
        if ins.keyword in ("COPY", "ADD"):
            refs += [(ref, ins.line, "COPY --from") for ref in ins.flag_values("from")]
        if ins.keyword == "RUN":
            for mount in ins.flag_values("mount"):
                options = dict(part.partition("=")[::2] for part in mount.split(","))
                if options.get("from"):
                    refs.append((options["from"], ins.line, "RUN --mount from"))
    return refs


def parse(text: str) -> Dockerfile:
    """Parse a Dockerfile; DockerfileSyntaxError (with `.line`) for what BuildKit rejects."""
    parsed = parse_string(text)
    return Dockerfile(
        tuple(Instruction.from_command(command) for command in parsed.commands),
        dict(parsed.directives),
        tuple(parsed.warnings),
    )
