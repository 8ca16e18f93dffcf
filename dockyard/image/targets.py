"""What an image name on the command line means, and `docker image inspect` of it.

A service of the compose project means the image that service runs (`image:` or Compose's
`<project>-<service>`, pulled services included); anything else is an image reference or id,
even when no compose project can be read. No name: every image of the project for `size`, the
first buildable service for `history` / `inspect-layers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine import EngineProtocol
from dockyard.errors import ComposeProjectError, DockyardError, ImageNotFound, SettingsError
from dockyard.imageref import normalize


@dataclass(frozen=True)
class ImageTarget:
    """An image to look at: the reference Docker knows it by, and its service if any."""

    reference: str
    service: str | None = None
    services: tuple[str, ...] = ()  # every service that runs this image (size dedups by image)
    buildable: bool = False
    # Set when the compose project could not be read: reported if the name is no image either.
    compose_error: DockyardError | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.service or self.reference


def project_images(engine: EngineProtocol) -> list[ImageTarget]:
    """Every image of the compose project, one per image reference, in the compose order."""
    found: dict[str, ImageTarget] = {}
    for name, svc in engine.project.services.items():
        reference = svc.image
        key = normalize(reference)
        buildable = svc.buildable
        if key in found:
            old = found[key]
            found[key] = ImageTarget(
                old.reference,
                old.service,
                (*old.services, name),
                old.buildable or buildable,
            )
        else:
            found[key] = ImageTarget(reference, name, (name,), buildable)
    return list(found.values())


def resolve_target(engine: EngineProtocol, name: str) -> ImageTarget:
    """A command-line name as an ImageTarget: a service of the project, else an image reference.

    When the compose project cannot be read, a name is still usable as an image reference; if
    it is not one either, the compose problem is the error worth reporting (see `inspect_image`).
    """
    name = name.strip()
    if not name:
        raise SettingsError("empty image name", "name a service or an image, e.g. `backend`")
    try:
        services = engine.project.services
    except ComposeProjectError as err:
        return ImageTarget(name, compose_error=err)
    if name in services:
        svc = services[name]
        return ImageTarget(svc.image, name, (name,), svc.buildable)
    wanted = normalize(name)
    for target in project_images(engine):
        if normalize(target.reference) == wanted:
            return target
    return ImageTarget(name)


def default_target(engine: EngineProtocol) -> ImageTarget:
    """The image `history` / `inspect-layers` look at without a name: the first built service."""
    candidates = list(engine.settings.build_services) or engine.project.buildable()
    if candidates:
        return resolve_target(engine, engine.project.require(candidates[:1])[0])
    images = project_images(engine)
    if images:
        return images[0]
    raise ComposeProjectError(
        f"project {engine.project_name!r} has no services",
        "name an image, e.g. `inv history python:3.11-slim`",
    )


def inspect_image(engine: EngineProtocol, target: ImageTarget) -> dict[str, Any]:
    """`docker image inspect` of the target, with a message that says what to do if absent."""
    try:
        return engine.image_inspect(target.reference)
    except ImageNotFound:
        if target.compose_error is not None:
            raise target.compose_error from None
        if target.service and target.buildable:
            raise ImageNotFound(
                f"{target.service} has no image yet ({target.reference})",
                f"run `inv build-fast --service {target.service}`",
            ) from None
        if target.service:
            raise ImageNotFound(
                f"the image of {target.service} ({target.reference}) is not in the engine",
                f"run `docker compose pull {target.service}` (or `inv up`)",
            ) from None
        raise ImageNotFound(
            f"image not found: {target.reference}",
            "check the name with `docker image ls`, or name a service of the project",
        ) from None


def layer_ids(image: Mapping[str, Any]) -> tuple[str, ...]:
    """The layers (diff ids, bottom first) of a `docker image inspect` result."""
    rootfs = image.get("RootFS") or {}
    return tuple(str(layer) for layer in rootfs.get("Layers") or [])
