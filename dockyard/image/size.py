"""`inv size`: each image's size and layers, its budget, and the change since the previous build.

The previous build is, among the ledger's successful builds of the service, the latest one
older than the build that recorded this image id and with another image id; for an image the
ledger does not know, the last recorded build (README "Size against the previous build").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dockyard.engine import EngineProtocol
from dockyard.errors import DockyardError, ImageNotFound
from dockyard.image.targets import (
    ImageTarget,
    inspect_image,
    layer_ids,
    project_images,
    resolve_target,
)
from dockyard.imageref import normalize
from dockyard.ledger import Ledger, ServiceBuild
from dockyard.settings import Settings, parse_size_setting
from dockyard.units import format_size


class OverBudget(DockyardError):
    """`size`: an image is larger than its budget."""


def budget_for(
    settings: Settings, target: ImageTarget, max_size: str = ""
) -> tuple[int | None, str]:
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


@dataclass(frozen=True)
class Previous:
    """The build `size` compares with."""

    build_id: int
    image_id: str
    size: int
    started_at: str


@dataclass(frozen=True)
class SizeRow:
    target: ImageTarget
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
    """The build to compare the current image of `service` with (see the module docstring)."""
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


def size_rows(
    engine: EngineProtocol,
    names: Sequence[str],
    *,
    max_size: str = "",
    ledger: Ledger | None = None,
) -> list[SizeRow]:
    """One row per image: the named ones, or every image of the project. A ledger that cannot
    be read leaves `previous` empty (`ledger.warnings` says why)."""
    if max_size:
        parse_size_setting(max_size, "--max-size")  # a bad flag fails before any Docker call
    if names:
        targets: list[ImageTarget] = []
        for name in names:
            target = resolve_target(engine, name)
            if all(normalize(t.reference) != normalize(target.reference) for t in targets):
                targets.append(target)
    else:
        targets = project_images(engine)
    if ledger is None:
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
                layers=len(layer_ids(data)),
                created=str(data.get("Created") or ""),
                previous=previous,
                budget=budget,
                budget_source=source,
            )
        )
    return rows


def budget_failure(rows: Iterable[SizeRow]) -> OverBudget | None:
    """The error `size` ends with when an image is over its budget (the first one), else None."""
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
