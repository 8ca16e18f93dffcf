"""Vertex names of BuildKit's progress stream split into service, stage, step and instruction.

`[backend deps 4/5] RUN ...` (Compose, service first), `[deps 4/5] RUN ...` (plain build or
Compose with bake), `[backend internal] load build context`, `[backend] exporting to image`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

_STEP_COUNTER = re.compile(r"^(\d+)/(\d+)$")
_MOUNT = re.compile(r"--mount=\S+\s*")


def one_line(text: str, width: int | None = None) -> str:
    """Collapse whitespace (newlines of heredocs, continuation indents) to single spaces; cut to
    `width` characters with a trailing "..." (ASCII: Windows consoles may be cp1252)."""
    flat = " ".join(text.split())
    if width is not None and len(flat) > width:
        return flat[: max(width - 3, 0)] + "..."[: max(width, 0)]
    return flat


def without_mounts(instruction: str) -> str:
    """`RUN --mount=... --mount=... uv pip sync` says more in a narrow column without its mounts."""
    return _MOUNT.sub("", instruction)


def step_label(
    stage: str | None, index: int | None, total: int | None, instruction: str, width: int = 60
) -> str:
    """How a step is named to a person: `deps 4/5 RUN uv pip install ...` (stage, N/M, the
    instruction without its mounts, one line, cut to `width`), as the live view shows it."""
    if index is None:
        return one_line(instruction, width)
    where = f"{stage} " if stage else ""
    return one_line(f"{where}{index}/{total} {without_mounts(instruction)}", width)


@dataclass(frozen=True)
class VertexName:
    """The parts of a vertex name such as `[backend deps 4/5] RUN pip install ...`.

    `service` is None when the name has no service prefix (plain `docker build`); `stage` is None
    for an unnamed stage; `index`/`total` are None for anything that is not a Dockerfile step
    (`[backend internal] load build context`, `[backend] exporting to image`); `internal` is
    True for BuildKit's `[... internal]` vertices.
    """

    service: str | None
    stage: str | None
    index: int | None
    total: int | None
    instruction: str
    internal: bool = False


def parse_vertex_name(
    name: str, service_names: Collection[str] = (), *, compose: bool | None = None
) -> VertexName:
    """Split a vertex name into service, stage, step `N/M` and instruction.

    `[a N/M] ...` is ambiguous: service `a` with an unnamed stage (Compose), or stage `a`
    without service (plain build). `a` is taken as a service when it is in `service_names`, or
    when `compose` is True; otherwise as a stage. Service names may contain dashes, never spaces,
    so every other form splits on spaces unambiguously.
    """
    known = service_names
    if not name.startswith("["):
        return VertexName(None, None, None, None, name)
    close = name.find("]")
    if close < 0:
        return VertexName(None, None, None, None, name)
    tokens = name[1:close].split()
    instruction = name[close + 1 :].strip()
    if not tokens:
        return VertexName(None, None, None, None, instruction)
    counter = _STEP_COUNTER.match(tokens[-1])
    if counter is not None:
        index, total = int(counter[1]), int(counter[2])
        head = tokens[:-1]
        if not head:
            return VertexName(None, None, index, total, instruction)
        if len(head) == 1:
            if head[0] in known or compose:
                return VertexName(head[0], None, index, total, instruction)
            return VertexName(None, head[0], index, total, instruction)
        return VertexName(head[0], " ".join(head[1:]), index, total, instruction)
    if tokens == ["internal"]:
        return VertexName(None, None, None, None, instruction, internal=True)
    if len(tokens) == 2 and tokens[1] == "internal":
        return VertexName(tokens[0], None, None, None, instruction, internal=True)
    if len(tokens) == 1:
        # `[backend] exporting to image`, `[backend] importing cache manifest from ...`
        return VertexName(tokens[0], None, None, None, instruction)
    return VertexName(None, None, None, None, name)
