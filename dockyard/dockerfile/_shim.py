"""TEMPORARY: the PyPI `dockerfile` package shaped like dockyard.dockerfile.parser (until the
pure-Python port lands)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


class DockerfileSyntaxError(ValueError):
    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ParsedDockerfile:
    commands: tuple[Any, ...]
    directives: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


Command = Any


def parse_string(text: str) -> ParsedDockerfile:
    import dockerfile

    directives: dict[str, str] = {}
    for line in text.splitlines():
        match = _DIRECTIVE.match(line)
        if not match:
            break
        directives[match.group(1).lower()] = match.group(2)
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        number = re.search(r"line (\d+)", str(exc))
        raise DockerfileSyntaxError(str(exc), int(number.group(1)) if number else 0) from None
    return ParsedDockerfile(tuple(commands), directives)
