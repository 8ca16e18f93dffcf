"""`inv history`: `docker image history` rows with cleaned instructions, base rows marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from dockyard.engine import EngineProtocol
from dockyard.image.base import BaseInfo, find_base
from dockyard.image.instruction import clean_instruction
from dockyard.image.targets import ImageTarget, inspect_image
from dockyard.units import parse_size


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
        instruction=clean_instruction(created_by),
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
    return [*rows[: len(rows) - count], *(replace(row, base=True) for row in tail)]


@dataclass(frozen=True)
class History:
    target: ImageTarget
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


def image_history(engine: EngineProtocol, target: ImageTarget, *, base: str = "") -> History:
    """The target's history, its base image's rows marked when the base is known."""
    data = inspect_image(engine, target)
    rows = [parse_history_row(raw) for raw in engine.history(target.reference)]
    info = find_base(engine, target, data, base)
    if info.known and info.reference:
        base_rows = [parse_history_row(raw) for raw in engine.history(info.reference)]
        rows = mark_base_rows(rows, base_rows)
    return History(target, str(data.get("Id", "")), tuple(rows), info)
