"""Rendering of `dockyard.image`'s results (`inv size`, `inv history`, `inv inspect-layers`).

Pure functions of the data. Every string that came from Docker (image names, instructions,
paths) is escaped; sizes use Docker's decimal units (`units.format_size`); only ASCII is written
besides rich's table boxes, which rich itself swaps for ASCII on consoles that are not UTF-8.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.render import Identifier, escape, lines, one_line
from dockyard.units import format_size

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from dockyard.image.analysis import ImageAnalysis
    from dockyard.image.base import BaseInfo
    from dockyard.image.gate import GateResult, GateStatus
    from dockyard.image.history import History
    from dockyard.image.inspection import Inspection
    from dockyard.image.size import SizeRow

STATUS_STYLE = {"PASS": "ok", "WARN": "warn", "FAIL": "fail"}


def _when(stamp: str) -> str:
    """RFC 3339 from Docker ("2026-11-27T17:31:24.922486115Z") as "2026-11-27 17:31"."""
    if len(stamp) >= 16 and stamp[10] in "T ":
        return f"{stamp[:10]} {stamp[11:16]}"
    return stamp or "-"


def _signed(change: int | None) -> str:
    if change is None:
        return "-"
    if change == 0:
        return "="
    return ("+" if change > 0 else "-") + format_size(abs(change))


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


# --------------------------------------------------------------------------- size


def size_table(rows: Sequence[SizeRow]) -> Table:
    """Two lines per image: service over image, human size over bytes, date over time,
    change over the build it is measured against, status over the budget."""
    from rich.table import Table

    table = Table(title="Images", title_justify="left")
    table.add_column("service / image", min_width=16)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("layers", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in rows:
        target = row.target
        if row.previous is None:
            change = "[muted]-[/muted]" if target.buildable and row.present else ""
        else:
            change = f"{_signed(row.change)}\n[muted]vs #{row.previous.build_id}[/muted]"
        if not row.present:
            status = f"[warn]{row.status}[/warn]"
        elif row.over_budget:
            status = "[fail]OVER BUDGET[/fail]"
        else:
            status = "[ok]ok[/ok]"
        if row.budget is not None:
            status += f"\n[muted]budget {format_size(row.budget)}[/muted]"
        created = _when(row.created).replace(" ", "\n") if row.present else "-"
        name = escape(", ".join(target.services)) if target.services else "[muted]-[/muted]"
        table.add_row(
            lines(f"[name]{name}[/name]", Identifier(target.reference)),
            f"{format_size(row.size)}\n[muted]{row.size} B[/muted]" if row.present else "-",
            str(row.layers) if row.layers is not None else "-",
            created,
            change,
            status,
        )
    return table


def print_sizes(console: Console, rows: Sequence[SizeRow]) -> None:
    if not rows:
        console.print("[muted]the project has no images[/muted]")
        return
    console.print(size_table(rows))
    missing = [row for row in rows if not row.present and row.target.buildable]
    if missing:
        names = ", ".join(row.target.label for row in missing)
        console.print(f"[muted]not built yet: {escape(names)} (run `inv build-fast`)[/muted]")


# --------------------------------------------------------------------------- history


def _base_named(base: BaseInfo) -> str:
    """`base: python:3.11-slim (final stage of Dockerfile)`, or `base found by layers: ...`."""
    from dockyard.image.base import BY_LAYERS

    name = f"[name]{escape(base.reference or '')}[/name]"
    if base.source == BY_LAYERS:
        return f"base {BY_LAYERS}: {name}"
    return f"base: {name} ({escape(base.source)})" if base.source else f"base: {name}"


def _base_line(base: BaseInfo) -> str:
    if base.known and base.reference:
        return _base_named(base)
    if base.known:
        return f"base: none ({escape(base.source)})"
    return f"[warn]{escape(base.note)}[/warn]: its rows are not marked (name it with --base IMAGE)"


def image_history_table(history: History, *, no_trunc: bool = False) -> Table:
    from rich.table import Table

    table = Table(
        title=f"History of {escape(history.target.reference)} (newest first)",
        title_justify="left",
        expand=True,
    )
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    if no_trunc:
        table.add_column("instruction", overflow="fold", ratio=1)
    else:
        table.add_column("instruction", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in history.rows:
        text = row.instruction or row.comment or ""
        shown = text if no_trunc else one_line(text)
        table.add_row(
            _when(row.created),
            format_size(row.size),
            "[muted]base[/muted]" if row.base else "",
            escape(shown),
            style="muted" if row.base else None,
        )
    return table


def print_history(console: Console, history: History, *, no_trunc: bool = False) -> None:
    console.print(image_history_table(history, no_trunc=no_trunc))
    console.print(_base_line(history.base))


# --------------------------------------------------------------------------- inspect-layers


def _files(added: int, changed: int, removed: int) -> str:
    parts = [f"+{added}" if added else "", f"~{changed}" if changed else ""]
    parts.append(f"-{removed}" if removed else "")
    return " ".join(p for p in parts if p) or "0"


def layers_table(analysis: ImageAnalysis) -> Table:
    from rich.table import Table

    table = Table(title="Layers (bottom first)", title_justify="left", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("files +/~/-", justify="right", no_wrap=True)
    table.add_column("wasted", justify="right", no_wrap=True)
    table.add_column("instruction", no_wrap=True, overflow="ellipsis", ratio=1)
    for layer in analysis.layers:
        index = f"{layer.index} base" if layer.is_base else str(layer.index)
        wasted = format_size(layer.wasted_bytes) if layer.wasted_bytes else "-"
        if layer.wasted_bytes and not layer.is_base:
            wasted = f"[fail]{wasted}[/fail]"
        table.add_row(
            index,
            format_size(layer.size),
            format_size(layer.cumulative_size),
            _files(layer.added, layer.changed, layer.removed),
            wasted,
            escape(one_line(layer.instruction) or "-"),
            style="muted" if layer.is_base else None,
        )
    return table


def largest_files_table(analysis: ImageAnalysis) -> Table:
    from rich.table import Table

    per_layer = max((len(layer.largest_files) for layer in analysis.layers), default=0)
    table = Table(title=f"Largest files per layer (top {per_layer})", title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("path")
    for layer in analysis.layers:
        for position, item in enumerate(layer.largest_files):
            table.add_row(
                str(layer.index) if position == 0 else "",
                format_size(item.size),
                Identifier("/" + item.path, fold=True),
                style="muted" if layer.is_base else None,
                end_section=position == len(layer.largest_files) - 1,
            )
    return table


def wasteful_table(analysis: ImageAnalysis) -> Table:
    from rich.table import Table

    table = Table(title="Most wasteful paths", title_justify="left")
    table.add_column("your waste", justify="right", no_wrap=True)
    table.add_column("all waste", justify="right", no_wrap=True)
    table.add_column("copies", justify="right", no_wrap=True)
    table.add_column("layers", no_wrap=True)
    table.add_column("at the end", no_wrap=True)
    table.add_column("path")
    for item in analysis.wasteful_paths:
        mine = format_size(item.user_wasted_bytes) if item.user_wasted_bytes else "-"
        table.add_row(
            f"[fail]{mine}[/fail]" if item.user_wasted_bytes else mine,
            format_size(item.wasted_bytes),
            str(item.copies),
            ",".join(str(index) for index in item.layers),
            "deleted" if item.deleted_at_end else "kept",
            Identifier("/" + item.path, fold=True),
            style=None if item.user_wasted_bytes else "muted",
        )
    return table


def summary_table(analysis: ImageAnalysis) -> Table:
    from rich.table import Table

    table = Table(title="Waste and efficiency", title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("stored", justify="right", no_wrap=True)
    table.add_column("visible", justify="right", no_wrap=True)
    table.add_column("wasted", justify="right", no_wrap=True)
    table.add_column("efficiency", justify="right", no_wrap=True)
    first, last = analysis.base_layer_count, len(analysis.layers) - 1
    if first > last:
        mine = "your layers (none)"
    elif first == last:
        mine = f"your layer ({first})"
    else:
        mine = f"your layers ({first}-{last})"
    table.add_row(
        mine,
        format_size(analysis.user_bytes),
        format_size(analysis.user_visible_bytes),
        format_size(analysis.user_wasted_bytes),
        _percent(analysis.user_efficiency),
        style="bold",
    )
    table.add_row(
        f"whole image (0-{last})" if last >= 0 else "whole image",
        format_size(analysis.total_bytes),
        format_size(analysis.visible_bytes),
        format_size(analysis.wasted_bytes),
        _percent(analysis.efficiency),
    )
    return table


def print_gate(console: Console, results: Sequence[GateResult], status: GateStatus) -> None:
    style = STATUS_STYLE[status]
    if not results:
        console.print("gate: [muted]no rules set[/muted]")
        return
    console.print(f"gate: [{style}]{status}[/{style}]")
    for result in results:
        rule_style = STATUS_STYLE[result.status]
        console.print(
            f"  [{rule_style}]{result.status}[/{rule_style}]  {escape(result.reason)}",
            soft_wrap=True,
        )


def print_inspection(console: Console, inspection: Inspection) -> None:
    analysis = inspection.analysis
    layer_count = len(analysis.layers)
    console.print(
        f"[name]{escape(inspection.target.reference)}[/name] "
        f"{_short_id(inspection.image_id)}  {format_size(inspection.image_size)} "
        f"in {layer_count} layer{'s' if layer_count != 1 else ''}, "
        f"{analysis.file_count} files"
    )
    console.print(
        f"[muted]read from docker save ({analysis.format} archive) in "
        f"{inspection.seconds:.1f}s[/muted]"
    )
    base = inspection.base
    if base.known and base.reference:
        count = analysis.base_layer_count
        span = {0: "no layer in common", 1: "layer 0"}.get(count, f"layers 0-{count - 1}")
        console.print(f"{_base_named(base)}: {span}")
    elif base.known:
        console.print(f"base: none ({escape(base.source)})")
    for note in inspection.notes:
        console.print(f"[warn]note:[/warn] {escape(note)}")
    console.print(layers_table(analysis))
    if any(layer.largest_files for layer in analysis.layers):
        console.print(largest_files_table(analysis))
    if analysis.wasteful_paths:
        console.print(wasteful_table(analysis))
    else:
        console.print("[ok]no path is stored more than once or deleted after it was written[/ok]")
    console.print(summary_table(analysis))
    if analysis.base_shadowed_bytes:
        console.print(
            f"[muted]base files your layers overwrite or delete: "
            f"{format_size(analysis.base_shadowed_bytes)} (whole-image waste, not yours: "
            f"deleting a base file never makes an image smaller)[/muted]"
        )
    print_gate(console, inspection.gate, inspection.status)
