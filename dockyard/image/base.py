"""The base image of a target, whose layers are never the user's waste.

In this order: `--base IMAGE`; for an image a service builds, the base of the Dockerfile's final
stage (`Dockerfile.final_base`: stage names followed back, `build.target` and build args
applied); the image's `org.opencontainers.image.base.name` label; otherwise the local image
whose layers are the longest prefix of the target's (`base_by_layers`), e.g. for an image
built by a plain `docker build`; otherwise unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from dockyard.compose import shown_path
from dockyard.dockerfile import DockerfileSyntaxError
from dockyard.dockerfile import parse as parse_dockerfile
from dockyard.engine import EngineProtocol
from dockyard.errors import ImageNotFound
from dockyard.image.targets import ImageTarget, inspect_image, layer_ids
from dockyard.progress.stream import parse_timestamp

BASE_LABEL = "org.opencontainers.image.base.name"
BY_LAYERS = "found by layers"


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
        found = base_by_layers(image, engine.local_images())
        if found is not None:
            return BaseInfo(found[0], BY_LAYERS, found[1], known=True)
        return BaseInfo(None, "", note=problem or "base image unknown")
    try:
        data = engine.image_inspect(reference)
    except ImageNotFound:
        return BaseInfo(
            reference, source, note=f"base image {reference} ({source}) is not in the engine"
        )
    return BaseInfo(reference, source, layer_ids(data), known=True)


_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def _created(image: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(str(image.get("Created") or ""))
    except ValueError:
        return None


def _name(image: Mapping[str, Any]) -> tuple[bool, str]:
    """(tagged, name): an image's shortest tag (then the first alphabetically), else its id."""
    tags = [str(t) for t in image.get("RepoTags") or () if t and not str(t).startswith("<none>")]
    if tags:
        return True, min(tags, key=lambda tag: (len(tag), tag))
    return False, str(image.get("Id") or "")


def base_by_layers(
    image: Mapping[str, Any], candidates: Iterable[Mapping[str, Any]]
) -> tuple[str, tuple[str, ...]] | None:
    """The local image the target was most likely built on: (its name, its layers).

    A candidate qualifies when its `RootFS.Layers` are a prefix of the target's: shorter, or
    the same layers when it is older (a child that only changed metadata). Several can (on the
    containerd store several tags and ids share layers), so, deterministically: a tagged image
    before an untagged one, then the longest prefix, then the oldest (the one the others were
    built on), then the shortest name, then the name. The target itself (its id) never counts.
    """
    mine = layer_ids(image)
    own_id = str(image.get("Id") or "")
    created = _created(image)
    ranked: list[tuple[tuple[bool, int, datetime, int, str], tuple[str, ...]]] = []
    for data in candidates:
        layers = layer_ids(data)
        if not layers or str(data.get("Id") or "") == own_id or mine[: len(layers)] != layers:
            continue
        when = _created(data)
        if len(layers) == len(mine) and not (when and created and when < created):
            continue
        tagged, name = _name(data)
        if name:
            ranked.append(((not tagged, -len(layers), when or _LATEST, len(name), name), layers))
    if not ranked:
        return None
    key, layers = min(ranked)
    return key[4], layers


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
