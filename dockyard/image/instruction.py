"""History lines as Dockerfile instructions: for the image config's history (`inspect-layers`)
and for `docker image history` rows (`history`)."""

from __future__ import annotations

import re

_NOP_RE = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_ARGS_RE = re.compile(r"^(?:RUN )?\|(?P<n>[0-9]+) ")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# The shell a RUN line starts with: /bin/sh -c, /bin/bash -o pipefail -c, sh -c, cmd /S /C ...
_SHELL_RE = re.compile(r"^(?:(?:\S*/)?(?:ba|da|a|z)?sh(?: \S+)*? -c |cmd /S /C )")
_SHELL_INSIDE_RE = re.compile(r" (?=/\S*/(?:ba|da|a|z)?sh(?: \S+)*? -c )")


def clean_instruction(created_by: str) -> str:
    """The Dockerfile instruction behind a history `created_by`, without the builder's noise.

    Strips the legacy builder's `/bin/sh -c #(nop) ` prefix, BuildKit's ` # buildkit` suffix, the
    `|N KEY=VALUE ...` build-arg prefix of RUN lines (N arguments) and the shell (`/bin/sh -c `,
    or the one `SHELL` set), and writes RUN lines as `RUN <command>`. BuildKit joins ARG values
    unquoted, so a value with spaces is ambiguous; it is resolved by looking for the shell.
    Multi-line commands (heredocs) keep their newlines: see `dockyard.render.one_line`.
    """
    text = created_by.strip()
    if text.endswith("# buildkit"):
        text = text[: -len("# buildkit")].rstrip()
    if not text:
        return ""
    nop = _NOP_RE.match(text)
    if nop:
        return text[nop.end() :].strip()
    is_run = False
    args = _ARGS_RE.match(text)
    if args:
        is_run = True
        text = _skip_build_args(text[args.end() :], int(args.group("n")))
    elif text.startswith("RUN "):
        is_run = True
        text = text[4:]
    shell = _SHELL_RE.match(text)
    if shell:
        return "RUN " + text[shell.end() :]
    return "RUN " + text if is_run else text


def _skip_build_args(rest: str, count: int) -> str:
    """Drop `count` KEY=VALUE words (values may contain spaces) from the front of `rest`."""
    tokens = rest.split(" ")
    seen = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if _KEY_RE.match(token) and seen < count:
            seen += 1
        elif seen == 0 or seen >= count:
            break
        index += 1  # a KEY=VALUE word, or more of a value that contains spaces
    remainder = " ".join(tokens[index:])
    if seen == count and not _SHELL_RE.match(remainder):
        # The last value may have had spaces too: cut at the shell if there is one.
        inside = _SHELL_INSIDE_RE.search(remainder)
        if inside:
            remainder = remainder[inside.end() :]
    return remainder
