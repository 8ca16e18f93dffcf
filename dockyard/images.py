"""Facts about images for `inv size`, `inv history` and `inv inspect-layers`.

Gather -> evaluate -> present: the functions here ask the engine (only through `Engine`) and
return plain dataclasses; `render/layers.py` draws them and `to_dict()` is what `--json` prints,
so the table, the JSON and the exit code never disagree. The layer analysis itself is
`dockyard.layers`.

What a name on the command line means: a service of the compose project means the image that
service runs (`image:` or Compose's `<project>-<service>`, pulled services included); anything
else is an image reference or id, even when no compose project can be read. No name: every image
of the project for `size`, the first buildable service for `history` / `inspect-layers`.

The base image (whose layers are never the user's waste) is, in this order: `--base IMAGE`; for
an image a service builds, the base of the Dockerfile's final stage (`FROM` followed back through
stage names, `build.target` honoured, build args substituted); the image's
`org.opencontainers.image.base.name` label; otherwise unknown, and every layer counts as the
user's (the output says so).

Size change: `size` compares an image with the build before the one that made it: in the
ledger's successful builds of its service, the latest one older than the build that recorded
this image id and with another image id (so rebuilds that reproduce the same image are passed
over). An image the ledger does not know (built outside dockyard) is compared with the last
recorded build. Compose and BuildKit sometimes give a fully cached rebuild a new image id; it then
counts as a build of its own, with a change of 0 bytes, which is what happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dockyard import layers
from dockyard.dockerfile import DockerfileSyntaxError
from dockyard.dockerfile import parse as parse_dockerfile
from dockyard.engine import EngineProtocol
from dockyard.errors import (
    ComposeProjectError,
    DockyardError,
    ImageNotFound,
    SettingsError,
)
from dockyard.imageref import normalize
from dockyard.ledger import Ledger, ServiceBuild
from dockyard.settings import Settings, is_off, parse_ratio_setting, parse_size_setting
from dockyard.units import format_size, parse_size

BASE_LABEL = "org.opencontainers.image.base.name"


class GateFailed(DockyardError):
    """`inspect-layers --ci`: at least one rule ended FAIL."""


class OverBudget(DockyardError):
    """`size`: an image is larger than its budget."""


# --------------------------------------------------------------------------- names -> images


@dataclass(frozen=True)
class Target:
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


def project_images(engine: EngineProtocol) -> list[Target]:
    """Every image of the compose project, one per image reference, in the compose order."""
    found: dict[str, Target] = {}
    for name, svc in engine.project.services.items():
        reference = svc.image
        key = normalize(reference)
        buildable = svc.buildable
        if key in found:
            old = found[key]
            found[key] = Target(
                old.reference,
                old.service,
                (*old.services, name),
                old.buildable or buildable,
            )
        else:
            found[key] = Target(reference, name, (name,), buildable)
    return list(found.values())


def resolve(engine: EngineProtocol, name: str) -> Target:
    """A command-line name as a Target: a service of the project, else an image reference.

    When the compose project cannot be read, a name is still usable as an image reference; if
    it is not one either, the compose problem is the error worth reporting (see `inspect_image`).
    """
    name = name.strip()
    if not name:
        raise SettingsError("empty image name", "name a service or an image, e.g. `backend`")
    try:
        services = engine.project.services
    except ComposeProjectError as err:
        return Target(name, compose_error=err)
    if name in services:
        svc = services[name]
        return Target(svc.image, name, (name,), svc.buildable)
    wanted = normalize(name)
    for target in project_images(engine):
        if normalize(target.reference) == wanted:
            return target
    return Target(name)


def default_target(engine: EngineProtocol) -> Target:
    """The image `history` / `inspect-layers` look at without a name: the first built service."""
    candidates = list(engine.settings.build_services) or engine.project.buildable()
    if candidates:
        return resolve(engine, engine.project.require(candidates[:1])[0])
    images = project_images(engine)
    if images:
        return images[0]
    raise ComposeProjectError(
        f"project {engine.project_name!r} has no services",
        "name an image, e.g. `inv history python:3.11-slim`",
    )


def inspect_image(engine: EngineProtocol, target: Target) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- budgets and gate


def budget_for(settings: Settings, target: Target, max_size: str = "") -> tuple[int | None, str]:
    """(budget in bytes, where it comes from) for one image: `--max-size` > the service's (or
    image's) entry in DOCKYARD_SIZE_BUDGETS > DOCKYARD_MAX_IMAGE_SIZE > none."""
    if max_size:
        return parse_size_setting(max_size, "--max-size"), "--max-size"
    budgets = settings.size_budgets
    for name in (*target.services, target.service or "", target.reference):
        if name and name in budgets:
            return budgets[name], f"DOCKYARD_SIZE_BUDGETS ({name})"
    wanted = normalize(target.reference)
    for name, budget in budgets.items():
        if normalize(name) == wanted:
            return budget, f"DOCKYARD_SIZE_BUDGETS ({name})"
    if settings.max_image_size is not None:
        return settings.max_image_size, "DOCKYARD_MAX_IMAGE_SIZE"
    return None, ""


def gate_rules(
    settings: Settings,
    target: Target,
    *,
    min_efficiency: str = "",
    max_wasted: str = "",
    max_size: str = "",
) -> GateRulesChoice:
    """The rules `inspect-layers` applies: each flag replaces its setting ("off" drops a rule)."""

    efficiency = settings.min_efficiency
    if min_efficiency:
        efficiency = (
            None
            if is_off(min_efficiency)
            else parse_ratio_setting(min_efficiency, "--min-efficiency")
        )
    wasted = settings.max_wasted
    if max_wasted:
        wasted = None if is_off(max_wasted) else parse_size_setting(max_wasted, "--max-wasted")
    if max_size and is_off(max_size):
        size: int | None
        size, source = None, ""
    else:
        size, source = budget_for(settings, target, max_size)
    return GateRulesChoice(
        layers.GateRules(min_efficiency=efficiency, max_wasted_bytes=wasted, max_size=size),
        size_source=source,
    )


@dataclass(frozen=True)
class GateRulesChoice:
    rules: layers.GateRules
    size_source: str = ""


# --------------------------------------------------------------------------- base image


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


def _dockerfile_base(engine: EngineProtocol, service: str) -> tuple[str | None, str, str]:
    """(base reference or None, source text, problem) from the service's Dockerfile."""
    build = engine.project.build_of(service)
    text = build.dockerfile_text()
    where = _shown_path(build.dockerfile_path, engine.project.directory)
    if text is None:
        return None, "", f"cannot read the Dockerfile of {service} ({where})"
    try:
        base = parse_dockerfile(text).final_base(build.args, build.target)
    except DockerfileSyntaxError as err:
        return None, "", f"cannot parse {where}: {err}"
    if base is None:
        return None, "", f"{where} has no FROM"
    return base, f"final stage of {where}", ""


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def find_base(
    engine: EngineProtocol, target: Target, image: Mapping[str, Any], override: str = ""
) -> BaseInfo:
    """The base image of `target` and its layer ids (see the module docstring for the order)."""
    if override:
        data = inspect_image(engine, Target(override))
        return BaseInfo(override, "--base", _layer_ids(data), known=True)
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
    return BaseInfo(reference, source, _layer_ids(data), known=True)


def _layer_ids(image: Mapping[str, Any]) -> tuple[str, ...]:
    rootfs = image.get("RootFS") or {}
    return tuple(str(layer) for layer in rootfs.get("Layers") or [])


# --------------------------------------------------------------------------- size


@dataclass(frozen=True)
class Previous:
    """The build `size` compares with."""

    build_id: int
    image_id: str
    size: int
    started_at: str


@dataclass(frozen=True)
class SizeRow:
    target: Target
    present: bool
    image_id: str = ""
    size: int | None = None
    layers: int | None = None
    created: str = ""
    previous: Previous | None = None
    budget: int | None = None
    budget_source: str = ""

    @property
    def change(self) -> int | None:
        if self.size is None or self.previous is None:
            return None
        return self.size - self.previous.size

    @property
    def over_budget(self) -> bool:
        return self.size is not None and self.budget is not None and self.size > self.budget

    @property
    def status(self) -> str:
        if not self.present:
            if self.target.buildable:
                return "not built"
            return "not pulled" if self.target.service else "not found"
        return "over budget" if self.over_budget else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.target.service,
            "services": list(self.target.services),
            "image": self.target.reference,
            "present": self.present,
            "image_id": self.image_id or None,
            "size": self.size,
            "size_human": format_size(self.size) if self.size is not None else None,
            "layers": self.layers,
            "created": self.created or None,
            "previous": asdict(self.previous) if self.previous else None,
            "change": self.change,
            "budget": self.budget,
            "budget_source": self.budget_source or None,
            "over_budget": self.over_budget,
            "status": self.status,
        }


def previous_build(
    ledger: Ledger, project: str, service: str, image_id: str
) -> ServiceBuild | None:
    """The build to compare the current image of `service` with (see the module docstring):
    the latest ok build older than the one that made `image_id` whose image id differs; for an
    image the ledger does not know, the last recorded build."""
    records = [
        record
        for record in ledger.service_builds(
            services=[service], project=project, status="ok", last=50
        )
        if record.image_size is not None and record.image_id
    ]
    current = next((i for i, r in enumerate(records) if r.image_id == image_id), None)
    if current is None:
        return records[0] if records else None
    return next((r for r in records[current + 1 :] if r.image_id != image_id), None)


def size_rows(engine: EngineProtocol, names: Sequence[str], *, max_size: str = "") -> list[SizeRow]:
    """One row per image: the named ones, or every image of the project."""
    if max_size:
        parse_size_setting(max_size, "--max-size")  # a bad flag fails before any Docker call
    if names:
        targets: list[Target] = []
        for name in names:
            target = resolve(engine, name)
            if all(normalize(t.reference) != normalize(target.reference) for t in targets):
                targets.append(target)
    else:
        targets = project_images(engine)
    ledger = Ledger(engine.settings.ledger_path)
    rows: list[SizeRow] = []
    for target in targets:
        budget, source = budget_for(engine.settings, target, max_size)
        if names and not target.service:
            data: dict[str, Any] | None = inspect_image(engine, target)  # unknown name: an error
        else:
            try:
                data = engine.image_inspect(target.reference)
            except ImageNotFound:
                data = None
        if data is None:
            rows.append(SizeRow(target, False, budget=budget, budget_source=source))
            continue
        image_id = str(data.get("Id", ""))
        previous = None
        if target.buildable and target.service:
            record = previous_build(ledger, engine.project_name, target.service, image_id)
            if record is not None and record.image_size is not None:
                previous = Previous(
                    record.build_id, record.image_id, record.image_size, record.started_at
                )
        rows.append(
            SizeRow(
                target,
                True,
                image_id=image_id,
                size=int(data.get("Size") or 0),
                layers=len(_layer_ids(data)),
                created=str(data.get("Created") or ""),
                previous=previous,
                budget=budget,
                budget_source=source,
            )
        )
    return rows


def budget_failure(rows: Iterable[SizeRow]) -> OverBudget | None:
    over = [row for row in rows if row.over_budget]
    if not over:
        return None
    first = over[0]
    more = f" (and {len(over) - 1} more)" if len(over) > 1 else ""
    return OverBudget(
        f"{first.target.label} is over budget: {format_size(first.size)} > "
        f"{format_size(first.budget)} ({first.budget_source}){more}",
        "make the image smaller (`inv inspect-layers` shows where the bytes are), or raise "
        "the budget (--max-size, DOCKYARD_SIZE_BUDGETS, DOCKYARD_MAX_IMAGE_SIZE)",
    )


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryRow:
    """One row of `docker image history`, newest first as Docker prints it."""

    created: str
    size: int
    instruction: str
    created_by: str
    comment: str
    id: str
    base: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_history_row(raw: Mapping[str, Any]) -> HistoryRow:
    """A `--format '{{json .}}'` row. Size is a string: bytes with --human=false ("4303"),
    Docker's units otherwise ("4.3kB", read back approximately)."""
    text = str(raw.get("Size") or "0").strip()
    try:
        size = int(text)
    except ValueError:
        try:
            size = parse_size(text)
        except ValueError:
            size = 0
    created_by = str(raw.get("CreatedBy") or "")
    return HistoryRow(
        created=str(raw.get("CreatedAt") or ""),
        size=size,
        instruction=layers.clean_instruction(created_by),
        created_by=created_by,
        comment=str(raw.get("Comment") or ""),
        id=str(raw.get("ID") or ""),
    )


def mark_base_rows(rows: Sequence[HistoryRow], base_rows: Sequence[HistoryRow]) -> list[HistoryRow]:
    """Mark the bottom rows that are the base image's own history (same instructions, times)."""
    count = len(base_rows)
    if not count or count > len(rows):
        return list(rows)
    tail = rows[len(rows) - count :]
    same = all(
        (mine.created_by, mine.created) == (theirs.created_by, theirs.created)
        for mine, theirs in zip(tail, base_rows, strict=True)
    )
    if not same:
        return list(rows)
    return [*rows[: len(rows) - count], *(_with_base(row) for row in tail)]


def _with_base(row: HistoryRow) -> HistoryRow:
    return HistoryRow(**{**asdict(row), "base": True})


@dataclass(frozen=True)
class History:
    target: Target
    image_id: str
    rows: tuple[HistoryRow, ...]
    base: BaseInfo

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.target.reference,
            "service": self.target.service,
            "image_id": self.image_id,
            "base": self.base.to_dict(),
            "rows": [row.to_dict() for row in self.rows],
        }


def image_history(engine: EngineProtocol, target: Target, *, base: str = "") -> History:
    data = inspect_image(engine, target)
    rows = [parse_history_row(raw) for raw in engine.history(target.reference)]
    info = find_base(engine, target, data, base)
    if info.known and info.reference:
        base_rows = [parse_history_row(raw) for raw in engine.history(info.reference)]
        rows = mark_base_rows(rows, base_rows)
    return History(target, str(data.get("Id", "")), tuple(rows), info)


# --------------------------------------------------------------------------- inspect-layers


@dataclass(frozen=True)
class Inspection:
    """An image read through `docker save`, analysed, and judged by the gate."""

    target: Target
    image_id: str
    image_size: int
    created: str
    base: BaseInfo
    analysis: layers.ImageAnalysis
    rules: layers.GateRules
    size_source: str
    gate: tuple[layers.GateResult, ...]
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> layers.Status:
        return layers.gate_status(self.gate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.target.reference,
            "service": self.target.service,
            "image_id": self.image_id,
            "image_size": self.image_size,
            "created": self.created,
            "base": self.base.to_dict(),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "analysis": self.analysis.to_dict(),
            "gate": {
                "status": self.status,
                "rules": asdict(self.rules),
                "max_size_source": self.size_source or None,
                "results": [result.to_dict() for result in self.gate],
            },
        }

    def failure(self) -> GateFailed | None:
        failed = [result for result in self.gate if result.status == "FAIL"]
        if not failed:
            return None
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return GateFailed(
            f"layer gate FAIL for {self.target.label}: {failed[0].reason}{more}",
            "see the most wasteful paths above; limits: --min-efficiency, --max-wasted, "
            "--max-size or DOCKYARD_MIN_EFFICIENCY, DOCKYARD_MAX_WASTED, DOCKYARD_MAX_IMAGE_SIZE",
        )


def inspect_layers(
    engine: EngineProtocol,
    target: Target,
    *,
    choice: GateRulesChoice,
    base: str = "",
    top: int = 5,
) -> Inspection:
    """`docker save` piped into `layers.analyse_archive`; nothing is written to disk."""
    data = inspect_image(engine, target)
    info = find_base(engine, target, data, base)
    started = time.monotonic()
    with engine.save(target.reference) as stream:
        analysis = layers.analyse_archive(stream, base_layer_ids=info.layer_ids, top_n=top)
    seconds = time.monotonic() - started
    notes = [f"{info.note}: every layer counted as yours (name the base with --base IMAGE)"]
    notes = notes if info.note else []
    if info.known and info.layer_ids and not analysis.base_matched:
        notes.append(
            f"{info.reference} is not the base this image was built on (changed since?): "
            f"only the {analysis.base_layer_count} bottom layers they share count as base"
        )
    image_size = int(data.get("Size") or 0)
    gate = layers.evaluate_gate(analysis, choice.rules, image_size=image_size)
    return Inspection(
        target=target,
        image_id=str(data.get("Id", "")),
        image_size=image_size,
        created=str(data.get("Created") or ""),
        base=info,
        analysis=analysis,
        rules=choice.rules,
        size_source=choice.size_source,
        gate=tuple(gate),
        seconds=seconds,
        notes=tuple(notes),
    )
