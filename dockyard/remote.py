"""Which engine a task talks to, as the docker CLI picks it: `DOCKER_HOST`, else the docker
context (`DOCKER_CONTEXT` or the CLI's current one), else the local socket; and whether that
engine runs on another host (tcp://, ssh://, or a context other than `default`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dockyard.engine.stackinfo import StackInfo
from dockyard.units import format_size

LOCAL_SCHEMES = ("unix://", "npipe://")


def current_context(environ: Mapping[str, str]) -> str:
    """The docker CLI's current context from its config file (no docker call)."""
    folder = environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(config.get("currentContext") or "") if isinstance(config, dict) else ""


def where(stack: StackInfo | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Where the engine is; read from the environment and the CLI's config (as the CLI does),
    so deciding costs no docker call."""
    environ = os.environ if environ is None else environ
    host = environ.get("DOCKER_HOST", "")
    if host:
        return host
    context = environ.get("DOCKER_CONTEXT", "") or current_context(environ)
    if not context and stack is not None:
        context = stack.context
    if context and context != "default":
        return f"docker context {context}"
    return "the local socket"


def is_remote(stack: StackInfo | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True for an engine reached over the network (or through a non-default context, which
    dockyard cannot see into: it is not treated as local)."""
    place = where(stack, environ)
    return place != "the local socket" and not place.startswith(LOCAL_SCHEMES)


def engine_line(stack: StackInfo, environ: Mapping[str, str] | None = None) -> str:
    kind = "remote engine" if is_remote(stack, environ) else "engine"
    version = f"Docker {stack.engine}" if stack.engine else "Docker ?"
    return f"{kind}: {where(stack, environ)} ({version}, {stack.image_store} image store)"


def context_line(sent: Sequence[tuple[str, int | None]]) -> str:
    """`context sent: app 1.2 kB, worker 3 B` (the stream's own count of bytes sent)."""
    parts = [f"{name} {format_size(size) if size is not None else '?'}" for name, size in sent]
    return "context sent: " + ", ".join(parts)
