"""What an image executes: the words of RUN (heredocs included) / CMD / ENTRYPOINT /
HEALTHCHECK and of compose's `entrypoint` / `command`, which context files are scripts worth
reading for line endings, and CRLF detection."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence

from dockyard.dockerfile import Dockerfile, Instruction

_EXEC_KEYWORDS = ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK")
SHELL_SUFFIXES = (".sh", ".bash", ".ksh", ".zsh")


def words_of(instruction: Instruction) -> list[str]:
    """The words of RUN / CMD / ENTRYPOINT / HEALTHCHECK, exec (JSON) or shell form."""
    args = instruction.script  # a RUN's heredoc bodies are what it executes
    if instruction.keyword == "HEALTHCHECK":
        head, _, rest = args.partition(" ")
        if head.upper() != "CMD":
            return []
        args = rest.strip()
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            value = None
        if isinstance(value, list):
            return [str(v) for v in value]
    try:
        return shlex.split(args, posix=True)
    except ValueError:
        return args.split()


def executed_names(dockerfile: Dockerfile | None, command_words: Sequence[str] = ()) -> set[str]:
    """Base names of everything the image may execute (words of RUN/CMD/ENTRYPOINT/...)."""
    names: set[str] = set()
    words = list(command_words)
    if dockerfile is not None:
        for ins in dockerfile.instructions:
            if ins.keyword in _EXEC_KEYWORDS:
                words += words_of(ins)
    for word in words:
        for token in re.split(r"[\s;&|()<>`'\"]+", word):
            base = token.rstrip("/").rsplit("/", 1)[-1]
            if base and base not in (".", ".."):
                names.add(base)
    return names


def is_shell_script(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower().endswith(SHELL_SUFFIXES)


def is_script_candidate(path: str, executed: set[str]) -> bool:
    """Context files worth reading for line endings: shell scripts and executed files."""
    return is_shell_script(path) or path.rsplit("/", 1)[-1] in executed


def has_crlf(data: bytes) -> bool:
    return b"\r\n" in data and b"\0" not in data[:8000]
