"""Rendering of `inv doctor`: one line per check (status, id, reason), the fix under each WARN
and FAIL, details indented below, a summary line. Pure functions of `dockyard.doctor.Report`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.render import escape, fold_identifier, symbols

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.doctor import CheckResult, Report

STATUS_STYLES = {"PASS": "ok", "WARN": "warn", "FAIL": "fail", "SKIP": "muted"}
ID_WIDTH = 22
MAX_DETAILS = 8
PAD = 8 + ID_WIDTH + 1  # where the reason column starts


def scope_title(scope: str) -> str:
    return {"environment": "Environment", "project": "Compose project"}.get(
        scope, scope.capitalize()
    )


def check_texts(check: CheckResult, *, verbose: bool = False) -> list[tuple[str, str, str]]:
    """(lead, plain text, style) of one check: the reason, then its fix and details."""
    texts = [("", check.reason, "")]
    if check.status in ("WARN", "FAIL") and check.fix:
        texts.append(("fix: ", check.fix, "hint"))
    shown_details = check.status in ("WARN", "FAIL") or verbose
    # A single detail that the reason already says is not repeated.
    redundant = len(check.details) == 1 and check.details[0] in check.reason
    if shown_details and check.details and not redundant:
        limit = len(check.details) if verbose else MAX_DETAILS
        for detail in check.details[:limit]:
            texts.append(("- ", detail, "muted"))
        hidden = len(check.details) - limit
        if hidden > 0:
            texts.append(("- ", f"... {hidden} more (inv doctor --json)", "muted"))
    return texts


def wrap_words(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken at spaces; a word longer than a line
    (a path, an image reference) is folded at its `/`, `:` or `@` (`fold_identifier`)."""
    from rich.cells import cell_len

    lines: list[str] = []
    line = ""
    for word in text.split():
        pieces = fold_identifier(word, width) if cell_len(word) > width else [word]
        for number, piece in enumerate(pieces):
            if number == 0 and (not line or cell_len(line) + 1 + cell_len(piece) <= width):
                line = f"{line} {piece}" if line else piece
                continue
            lines.append(line)
            line = piece
    lines.append(line)
    return [item for item in lines if item] or [""]


def print_checks(console: Console, checks: Sequence[CheckResult], *, verbose: bool = False) -> None:
    """One scope's checks: status and id in fixed columns; the reason, fix and details wrapped
    at words in the column beside them, so the terminal never folds a line under the status."""
    width = max(console.width - PAD, 20)
    for check in checks:
        style = STATUS_STYLES.get(check.status, "muted")
        head = f"  [{style}]{check.status}[/{style}]  {escape(check.id):<{ID_WIDTH}} "
        for index, (lead, text, text_style) in enumerate(check_texts(check, verbose=verbose)):
            hang = " " * len(lead) if lead == "- " else ""
            for number, line in enumerate(wrap_words(text, width - len(lead))):
                first = index == 0 and number == 0
                shown = escape((lead if number == 0 else hang) + line)
                if text_style:
                    shown = f"[{text_style}]{shown}[/{text_style}]"
                console.print(f"{head if first else ' ' * PAD}{shown}", soft_wrap=True)


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
        print_checks(console, checks, verbose=verbose)
    console.print()
    console.print(summary_line(report, console), soft_wrap=True)
