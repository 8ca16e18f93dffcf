"""The base image of a target, whose layers are never the user's waste.

In this order: `--base IMAGE`; for an image a service builds, the base of the Dockerfile's final
stage (`Dockerfile.final_base`: stage names followed back, `build.target` and build args
applied); the image's `org.opencontainers.image.base.name` label; otherwise unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from dockyard.compose import shown_path
from dockyard.dockerfile import DockerfileSyntaxError
from dockyard.dockerfile import parse as parse_dockerfile
from dockyard.engine import EngineProtocol
from dockyard.errors import ImageNotFound
from dockyard.image.targets import ImageTarget, inspect_image, layer_ids

BASE_LABEL = "org.opencontainers.image.base.name"


@dataclass(frozen=True)
class BaseInfo:
    """Which image the target was built on, and its layers (RootFS.Layers).

    `known`: the base layers are known (also for FROM scratch: none). `note`: why they are not.
    """

    reference: str | None
    source: str
    layer_ids: tuple[str, ...] = ()
    known: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layer_ids"] = list(self.layer_ids)
        return data


def find_base(
    engine: EngineProtocol, target: ImageTarget, image: Mapping[str, Any], override: str = ""
) -> BaseInfo:
    """The base image of `target` and its layer ids; `image`: its `docker image inspect`."""
    if override:
        data = inspect_image(engine, ImageTarget(override))
        return BaseInfo(override, "--base", layer_ids(data), known=True)
    reference: str | None = None
    source = ""
    problem = ""
    if target.service and target.buildable:
        reference, source, problem = _dockerfile_base(engine, target.service)
    if reference is None and not problem:
        labels = (image.get("Config") or {}).get("Labels") or {}
        label = str(labels.get(BASE_LABEL) or "")
        if label:
            reference, source = label, f"label {BASE_LABEL}"
    if reference == "scratch":
        return BaseInfo(None, f"{source}: FROM scratch", (), known=True)
    if reference is None:
        return BaseInfo(None, "", note=problem or "base image unknown")
    try:
        data = engine.image_inspect(reference)
    except ImageNotFound:
        return BaseInfo(
            reference, source, note=f"base image {reference} ({source}) is not in the engine"
        )
    return BaseInfo(reference, source, layer_ids(data), known=True)


def _dockerfile_base(engine: EngineProtocol, service: str) -> tuple[str | None, str, str]:
    """(base reference or None, source text, problem) from the service's Dockerfile."""
    build = engine.project.build_of(service)
    text = build.dockerfile_text()
    where = shown_path(build.dockerfile_path, engine.project.directory)
    if text is None:
        return None, "", f"cannot read the Dockerfile of {service} ({where})"
    try:
        base = parse_dockerfile(text).final_base(build.args, build.target)
    except DockerfileSyntaxError as err:
        return None, "", f"cannot parse {where}: {err}"
    if base is None:
        return None, "", f"{where} has no FROM"
    return base, f"final stage of {where}", ""
