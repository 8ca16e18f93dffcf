"""`inv inspect-layers`: `docker save` piped into the analysis, its base found, the gate applied."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from dockyard.engine import EngineProtocol
from dockyard.image.analysis import ImageAnalysis, analyse_archive
from dockyard.image.base import BaseInfo, find_base
from dockyard.image.gate import (
    GateFailed,
    GateResult,
    GateRules,
    GateRulesChoice,
    GateStatus,
    evaluate_gate,
    gate_failure,
    gate_status,
)
from dockyard.image.targets import ImageTarget, inspect_image


@dataclass(frozen=True)
class Inspection:
    """An image read through `docker save`, analysed, and judged by the gate."""

    target: ImageTarget
    image_id: str
    image_size: int
    created: str
    base: BaseInfo
    analysis: ImageAnalysis
    rules: GateRules
    size_source: str
    gate: tuple[GateResult, ...]
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> GateStatus:
        return gate_status(self.gate)

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
        return gate_failure(self.target.label, self.gate)


def inspect_layers(
    engine: EngineProtocol,
    target: ImageTarget,
    *,
    choice: GateRulesChoice,
    base: str = "",
    top: int = 5,
) -> Inspection:
    """`docker save` piped into `analyse_archive`; nothing is written to disk."""
    data = inspect_image(engine, target)
    info = find_base(engine, target, data, base)
    started = time.monotonic()
    with engine.save(target.reference) as stream:
        analysis = analyse_archive(stream, base_layer_ids=info.layer_ids, top_n=top)
    seconds = time.monotonic() - started
    notes = [f"{info.note}: every layer counted as yours (name the base with --base IMAGE)"]
    notes = notes if info.note else []
    if info.known and info.layer_ids and not analysis.base_matched:
        notes.append(
            f"{info.reference} is not the base this image was built on (changed since?): "
            f"only the {analysis.base_layer_count} bottom layers they share count as base"
        )
    image_size = int(data.get("Size") or 0)
    gate = evaluate_gate(analysis, choice.rules, image_size=image_size)
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
