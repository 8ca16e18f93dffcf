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
    from rich.console import Console

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
    table.add_column("service", style="name")
    table.add_column("container")
    table.add_column("state")
    table.add_column("health")
    table.add_column("ports", overflow="fold")
    for state in states:
        status_style = "ok" if state.ok else "fail"
        shown_state = state.state if state.state != "exited" else f"exited ({state.exit_code})"
        table.add_row(
            escape(state.service),
            escape(state.name),
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
