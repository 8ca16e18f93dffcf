"""RUN cache mounts made useless: `pip --no-cache-dir`, `PIP_NO_CACHE_DIR` (pip reads any value
as "off"), `uv --no-cache` or `UV_NO_CACHE`, inline, from the stage's ARG, or from the ENV it
inherits."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dockyard.dockerfile import Dockerfile, Instruction, Stage, parse_arg


def cache_mount_targets(instruction: Instruction) -> list[str]:
    targets = []
    for mount in instruction.flag_values("mount"):
        options: dict[str, str] = {}
        for part in mount.split(","):
            name, _, value = part.partition("=")
            options[name.strip()] = value.strip()
        if options.get("type") == "cache":
            targets.append(options.get("target") or options.get("dst") or options.get("dest", ""))
    return targets


def stage_environment(
    dockerfile: Dockerfile,
    stage_index: int,
    before_line: int,
    build_args: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What a RUN before `before_line` sees: ENV of the stage and the stages it builds on, and
    ARG defaults of the stage itself (an ARG goes out of scope at the end of its stage)."""
    chain: list[Stage] = []
    stage: Stage | str = dockerfile.stages[stage_index]
    while isinstance(stage, Stage) and stage not in chain:
        chain.append(stage)
        stage = dockerfile.parent(stage, build_args)
    env: dict[str, str] = {}
    for part in reversed(chain):
        for ins in part.instructions:
            if part is chain[0] and ins.line >= before_line:
                break
            if ins.keyword == "ENV":
                env.update(ins.env())
            elif ins.keyword == "ARG" and part is chain[0]:
                env.update({k: v for k, v in parse_arg(ins.args) if v is not None})
    return env


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y", "t")


def cache_conflicts(
    dockerfile: Dockerfile, build_args: Mapping[str, str] | None = None
) -> list[str]:
    """RUN lines whose cache mount is made useless by a no-cache flag or variable."""
    found = []
    for stage in dockerfile.stages:
        for ins in stage.instructions:
            if ins.keyword != "RUN":
                continue
            targets = cache_mount_targets(ins)
            if not targets:
                continue
            env = stage_environment(dockerfile, stage.index, ins.line, build_args)
            command = ins.script
            inline = dict(re.findall(r"\b(PIP_NO_CACHE_DIR|UV_NO_CACHE)=(\S*)", command))
            uses_pip = re.search(r"\bpip3?\b", command) is not None
            uses_uv = re.search(r"\buv\b", command) is not None
            pip_dir = env.get("PIP_CACHE_DIR", "")
            uv_dir = env.get("UV_CACHE_DIR", "")
            pip_mount = any(
                "pip" in t or t.rstrip("/").endswith(".cache") or t == pip_dir for t in targets
            )
            uv_mount = any(
                "uv" in t or t.rstrip("/").endswith(".cache") or t == uv_dir for t in targets
            )
            why = []
            if uses_pip and pip_mount:
                if "--no-cache-dir" in command:
                    why.append("pip --no-cache-dir")
                elif "PIP_NO_CACHE_DIR" in inline or "PIP_NO_CACHE_DIR" in env:
                    # pip disables its cache for ANY value, even 0 or false (pip issue #5735).
                    why.append("PIP_NO_CACHE_DIR is set (pip reads any value as 'off')")
            if uses_uv and uv_mount:
                if re.search(r"\buv\b[^&;|\n]*--no-cache\b", command):
                    why.append("uv --no-cache")
                elif _truthy(inline.get("UV_NO_CACHE", env.get("UV_NO_CACHE"))):
                    why.append("UV_NO_CACHE is set")
            if why:
                found.append(
                    f"line {ins.line}: {'; '.join(why)} with a cache mount on "
                    f"{', '.join(t or '?' for t in targets)}"
                )
    return found
