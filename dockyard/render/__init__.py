"""Rendering: rich tables, bars and messages as pure functions of the data, onto a Console.

This package holds the shared parts (console, theme, symbols, units, messages, the stack's
tables); each concern has its own module beside it (`render.build`, ...).

Strings that came from Docker go through `escape` (rich would eat `[db]` as markup otherwise).
Output must survive a Windows cp1252 console: streams are reconfigured to replace what they
cannot encode, and symbols fall back to ASCII when the console is not UTF-8 (rich already swaps
table boxes for ASCII ones then).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from dockyard.errors import DockyardError
from dockyard.progress.names import one_line as one_line
from dockyard.progress.names import without_mounts as without_mounts
from dockyard.units import format_seconds

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, Group, RenderResult
    from rich.measure import Measurement

    from dockyard.engine import ServiceState
    from dockyard.stack import Endpoint

THEME_STYLES = {
    "ok": "green",
    "warn": "yellow",
    "fail": "bold red",
    "muted": "dim",
    "name": "cyan",
    "num": "bold",
    "hint": "italic",
    "cached": "blue",
}


@dataclass(frozen=True)
class Symbols:
    ok: str
    fail: str
    cached: str
    bar: str
    arrow: str


UNICODE_SYMBOLS = Symbols(ok="✓", fail="✗", cached="⚡", bar="█", arrow="→")
ASCII_SYMBOLS = Symbols(ok="+", fail="x", cached="*", bar="#", arrow="->")


def safe_stream(stream: IO[str]) -> IO[str]:
    """Make a text stream replace unencodable characters instead of raising (cp1252 consoles)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, io.UnsupportedOperation):
            reconfigure(errors="replace")
    return stream


def make_console(file: IO[str] | None = None, *, stderr: bool = False, **kwargs: object) -> Console:
    """A Console with dockyard's theme; NO_COLOR and non-TTY output are honoured by rich."""
    from rich.console import Console
    from rich.theme import Theme

    if file is None:
        file = safe_stream(sys.stderr if stderr else sys.stdout)
    return Console(file=file, theme=Theme(THEME_STYLES), highlight=False, **kwargs)  # type: ignore[arg-type]


def symbols(console: Console) -> Symbols:
    encoding = (console.encoding or "").lower().replace("-", "")
    return UNICODE_SYMBOLS if encoding.startswith("utf") else ASCII_SYMBOLS


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# -- identifiers in narrow columns ------------------------------------------------------------
ELLIPSIS = "\u2026"  # "..." on a console that is not UTF-8 (`_ellipsis`)
_BOUNDARIES = "/:@"


def _ellipsis(unicode: bool) -> str:
    return ELLIPSIS if unicode else "..."


def _cut_forms(text: str, ellipsis: str) -> list[str]:
    """Every cut of `text` at a boundary, most telling first (see `cut_identifier`)."""
    cuts = [i for i, char in enumerate(text) if char in _BOUNDARIES and i > 0]
    slash = text.rfind("/", 1)
    name_end = next((i for i in cuts if i > slash and text[i] in ":@"), len(text))
    forms = [ellipsis + text[cut:] for cut in cuts if cut <= slash]  # .../backend:latest
    if name_end < len(text):  # the tag does not fit: keep the name, cut the tag
        forms.append(text[: name_end + 1] + ellipsis)  # dockyard/backend:...
        forms += [ellipsis + text[cut : name_end + 1] + ellipsis for cut in cuts if cut <= slash]
        forms.append(ellipsis + text[name_end:])  # ...:latest
    return forms


def cut_identifier(text: str, width: int, *, ellipsis: str = ELLIPSIS) -> str:
    """An image reference, path or name cut to `width` characters at a `/`, `:` or `@`.

    The rule, for every table: the name (last path segment) and its tag say most, so keep the
    longest tail that starts at a boundary and still holds the name (`.../backend:latest`);
    when the name and tag do not fit, keep the name and cut the tag (`dockyard/backend:...`,
    `.../backend:...`), then the tag alone (`...:latest`); only when no boundary fits either
    is the word itself cut, still with the ellipsis, at its end.
    """
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    for form in _cut_forms(text, ellipsis):
        if len(form) <= width:
            return form
    return text[: width - len(ellipsis)] + ellipsis


def fold_identifier(text: str, width: int, *, ellipsis: str = ELLIPSIS) -> list[str]:
    """The identifier in lines of at most `width`, each break before a `/`, `:` or `@`; a
    segment longer than a line is cut (`cut_identifier`), never split mid-word."""
    if width <= 0:
        return [text]
    pieces: list[str] = []
    start = 0
    for i, char in enumerate(text):
        if char in _BOUNDARIES and i > start:
            pieces.append(text[start:i])
            start = i
    pieces.append(text[start:])
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
        if len(line) > width:
            lines.append(cut_identifier(line, width, ellipsis=ellipsis))
            line = ""
    if line or not lines:
        lines.append(line)
    return lines


def _min_cut_width(text: str) -> int:
    """The narrowest cut of `text` at a boundary (`cut_identifier` never needs less)."""
    return min([len(text), *(len(form) for form in _cut_forms(text, ELLIPSIS))])


class Identifier:
    """A table cell holding an image reference, path or name: as wide as the column allows,
    cut (or, with `fold=True`, folded) only at a `/`, `:` or `@` boundary.

    One renderable for every table, so the rule lives in one place (`cut_identifier`,
    `fold_identifier`); rich asks it for its width range, then renders it in the column's width.
    """

    def __init__(self, text: str, style: str = "", *, fold: bool = False) -> None:
        self.text = " ".join(text.split())
        self.style = style
        self.fold = fold

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        narrow = _min_cut_width(self.text)
        if self.fold:
            segments = [len(p) for p in fold_identifier(self.text, 1)]
            narrow = min(narrow, max(segments, default=0))
        width = options.max_width
        return Measurement(min(narrow, width), min(len(self.text), width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        width = options.max_width
        mark = _ellipsis(symbols(console) is UNICODE_SYMBOLS)
        if self.fold:
            lines = fold_identifier(self.text, width, ellipsis=mark)
        else:
            lines = [cut_identifier(self.text, width, ellipsis=mark)]
        for line in lines:
            yield Text(line, style=self.style, no_wrap=True, overflow="crop", end="\n")


def lines(*parts: str | Identifier) -> Group:
    """Several renderables (markup strings or Identifiers) stacked in one table cell."""
    from rich.console import Group

    return Group(*parts)


# -- messages ---------------------------------------------------------------------------------
def error(console: Console, err: DockyardError) -> None:
    """The failure: optional detail block, then one line with the hint."""
    sym = symbols(console)
    if err.detail:
        console.print(escape(err.detail), style="muted", soft_wrap=True)
    line = f"[fail]{sym.fail} {escape(err.message)}[/fail]"
    if err.hint:
        line += f"  [hint]hint: {escape(err.hint)}[/hint]"
    console.print(line, soft_wrap=True)


def warning(console: Console, message: str, *, hint: str = "") -> None:
    line = f"[warn]warning:[/warn] {escape(message)}"
    if hint:
        line += f"  [hint]hint: {escape(hint)}[/hint]"
    console.print(line, soft_wrap=True)


def info(console: Console, message: str) -> None:
    console.print(escape(message), soft_wrap=True)


# -- stack ------------------------------------------------------------------------------------
def service_table(states: Sequence[ServiceState], title: str = "Services") -> object:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("service")
    table.add_column("container")
    table.add_column("state")
    table.add_column("health")
    table.add_column("ports", overflow="fold")
    for state in states:
        status_style = "ok" if state.ok else "fail"
        shown_state = state.state if state.state != "exited" else f"exited ({state.exit_code})"
        table.add_row(
            Identifier(state.service, "name"),
            Identifier(state.name),
            f"[{status_style}]{escape(shown_state)}[/{status_style}]",
            escape(state.health or "-"),
            escape(state.ports or "-"),
        )
    return table


def print_services(console: Console, states: Sequence[ServiceState]) -> None:
    if not states:
        console.print("[muted]no containers in this project[/muted]")
        return
    console.print(service_table(states))


def print_endpoints(console: Console, endpoints: Sequence[Endpoint], elapsed: float) -> None:
    sym = symbols(console)
    console.print(f"[ok]{sym.ok} healthy[/ok] after {format_seconds(elapsed)}")
    for endpoint in endpoints:
        console.print(f"  [name]{escape(endpoint.service):<12}[/name] {escape(endpoint.url)}")
