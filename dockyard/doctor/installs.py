"""Dependency installs in RUN lines (heredoc bodies included): which commands install, and what
`pip install` / `uv pip install|sync` name: requirement files (`-r` / `-c`) and packages."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.dockerfile import Dockerfile
from dockyard.requirements import is_local

_INSTALL = re.compile(
    r"\b(?:pip3?|python3?\s+-m\s+pip)\s+install\b"
    r"|\buv\s+(?:pip\s+(?:install|sync)|sync)\b"
    r"|\b(?:poetry|pipenv|pdm|bundle|composer|pnpm)\s+(?:install|sync)\b"
    r"|\bnpm\s+(?:install|ci|i)\b"
    r"|\byarn(?:\s+install)?\s*(?:$|&&|;|\s-)"
    r"|\bgo\s+mod\s+download\b",
    re.MULTILINE,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# pip / uv options that take a value (the word after them is not a package).
_VALUE_OPTIONS = _words(
    """-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f
    --find-links -t --target --python -p --prefix --root --timeout --retries --cache-dir
    --platform --only-binary --no-binary --trusted-host --progress-bar --python-version --abi
    --implementation --src --upgrade-strategy --log --proxy --cert --client-cert
    --index-strategy --link-mode --python-platform --exclude-newer --config-settings -C
    --keyring-provider --resolution --prerelease"""
)
# Where one shell command ends and the next begins (a heredoc body has one per line).
_COMMAND_END = re.compile(r"&&|\|\||;|\||\n")


def is_install(command: str) -> bool:
    """Does the command install dependencies (pip, uv, poetry, npm, yarn, go mod, ...)?"""
    return bool(_INSTALL.search(command))


@dataclass(frozen=True)
class PipInstall:
    line: int
    requirement_files: tuple[str, ...]
    packages: tuple[str, ...]  # names given on the command line


def pip_installs(dockerfile: Dockerfile) -> list[PipInstall]:
    """`pip install` / `uv pip install|sync` commands: the files (-r/-c) and packages they name."""
    found = []
    for ins in dockerfile.instructions:
        if ins.keyword != "RUN":
            continue
        for command in _COMMAND_END.split(ins.script):
            try:
                words = shlex.split(command, posix=True)
            except ValueError:
                words = command.split()
            start = _install_start(words)
            if start is None:
                continue
            files: list[str] = []
            packages: list[str] = []
            sync = words[start - 1] == "sync"
            skip = False
            for i, word in enumerate(words[start:], start):
                if skip:
                    skip = False
                    continue
                if word in ("-r", "--requirement", "-c", "--constraint"):
                    if i + 1 < len(words):
                        files.append(words[i + 1])
                    skip = True
                elif re.match(r"(--requirement|--constraint)=", word):
                    files.append(word.split("=", 1)[1])
                elif re.match(r"-[rc]\S", word):
                    files.append(word[2:])
                elif word in _VALUE_OPTIONS:
                    skip = True
                elif word.startswith("-"):
                    continue
                elif sync:
                    files.append(word)
                elif not is_local(word):
                    packages.append(word)
            found.append(PipInstall(ins.line, tuple(files), tuple(packages)))
    return found


def _install_start(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        base = word.rsplit("/", 1)[-1]
        rest = words[i + 1 :]
        if re.fullmatch(r"pip3?(\.\d+)?", base) and rest[:1] == ["install"]:
            return i + 2
        if re.fullmatch(r"python3?(\.\d+)?", base) and rest[:3] == ["-m", "pip", "install"]:
            return i + 4
        if base == "uv" and rest[:2] in (["pip", "install"], ["pip", "sync"]):
            return i + 3
    return None


def requirement_paths(dockerfile: Dockerfile, files: Iterable[str]) -> list[str]:
    """Context paths of the requirement files the Dockerfile installs from (by file name)."""
    wanted = {
        name.rsplit("/", 1)[-1]
        for inst in pip_installs(dockerfile)
        for name in inst.requirement_files
    }
    return sorted(path for path in files if path.rsplit("/", 1)[-1] in wanted)
