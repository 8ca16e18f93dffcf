"""Rendering of `inv doctor`: one line per check (status, id, reason), the fix under each WARN
and FAIL, details indented below, a summary line. Pure functions of `dockyard.doctor.Report`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.render import escape, symbols

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.doctor import CheckResult, Report

STATUS_STYLES = {"PASS": "ok", "WARN": "warn", "FAIL": "fail", "SKIP": "muted"}
ID_WIDTH = 22
MAX_DETAILS = 8


def scope_title(scope: str) -> str:
    return {"environment": "Environment", "project": "Compose project"}.get(
        scope, scope.capitalize()
    )


def check_lines(check: CheckResult, *, verbose: bool = False) -> list[str]:
    """Markup lines of one check: the verdict, then its fix and details (indented)."""
    style = STATUS_STYLES.get(check.status, "muted")
    pad = " " * (8 + ID_WIDTH + 1)  # under the reason column
    lines = [
        f"  [{style}]{check.status}[/{style}]  {escape(check.id):<{ID_WIDTH}} "
        f"{escape(check.reason)}"
    ]
    if check.status in ("WARN", "FAIL") and check.fix:
        lines.append(f"{pad}[hint]fix: {escape(check.fix)}[/hint]")
    shown_details = check.status in ("WARN", "FAIL") or verbose
    # A single detail that the reason already says is not repeated.
    redundant = len(check.details) == 1 and check.details[0] in check.reason
    if shown_details and check.details and not redundant:
        limit = len(check.details) if verbose else MAX_DETAILS
        for detail in check.details[:limit]:
            lines.append(f"{pad}[muted]- {escape(detail)}[/muted]")
        hidden = len(check.details) - limit
        if hidden > 0:
            lines.append(f"{pad}[muted]- ... {hidden} more (inv doctor --json)[/muted]")
    return lines


def summary_line(report: Report, console: Console) -> str:
    sym = symbols(console)
    failed, warned = report.count("FAIL"), report.count("WARN")
    parts = [
        f"{report.count('PASS')} passed",
        f"{warned} warning{'s' if warned != 1 else ''}",
        f"{failed} failed",
    ]
    skipped = report.count("SKIP")
    if skipped:
        parts.append(f"{skipped} skipped")
    text = ", ".join(parts)
    if failed:
        return f"[fail]{sym.fail} doctor: {text}[/fail]"
    if warned:
        return f"[warn]doctor: {text}[/warn]"
    return f"[ok]{sym.ok} doctor: {text}[/ok]"


def print_report(console: Console, report: Report, *, verbose: bool = False) -> None:
    if report.stack is not None and report.stack.engine:
        console.print(f"[muted]Docker: {escape(report.stack.describe())}[/muted]", soft_wrap=True)
    first = True
    for scope, checks in report.by_scope():
        if not first:
            console.print()
        first = False
        console.print(f"[name]{escape(scope_title(scope))}[/name]", soft_wrap=True)
        for check in checks:
            for line in check_lines(check, verbose=verbose):
                console.print(line, soft_wrap=True)
    console.print()
    console.print(summary_line(report, console), soft_wrap=True)
