"""The shared rendering helpers of dockyard.render."""

from __future__ import annotations

import io

import pytest
from rich.table import Table

from dockyard import render
from dockyard.render import Identifier, cut_identifier, fold_identifier, lines, one_line


def test_one_line() -> None:
    assert one_line("RUN a \\\n    && b\n\tc") == "RUN a \\ && b c"
    assert one_line("RUN " + "x" * 50, width=10) == "RUN xxx..."
    assert one_line("short", width=10) == "short"


# -- identifiers in narrow columns: one rule for every table ---------------------------------
REF = "dockyard/backend:latest"


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (30, "dockyard/backend:latest"),
        (23, "dockyard/backend:latest"),
        (22, "…/backend:latest"),
        (16, "…/backend:latest"),
        (15, "…/backend:…"),  # the name stays, the tag goes
        (11, "…/backend:…"),
        (10, "…:latest"),
        (8, "…:latest"),
        (7, "dockya…"),  # no boundary fits: only then is the word cut, still with the ellipsis
        (1, "…"),
        (0, ""),
    ],
)
def test_cut_identifier_at_a_boundary(width: int, shown: str) -> None:
    assert cut_identifier(REF, width) == shown


def test_cut_identifier_keeps_the_most_telling_part() -> None:
    registry = "registry.example.com:5000/team/dockyard-local/python:3.11-slim"
    assert cut_identifier(registry, 40) == "…/team/dockyard-local/python:3.11-slim"
    assert cut_identifier(registry, 20) == "…/python:3.11-slim"
    assert cut_identifier(registry, 12) == "…/python:…"
    digest = "example/app@sha256:" + "a" * 64
    assert cut_identifier(digest, 20) == "example/app@…"
    assert cut_identifier("/usr/lib/python3.11/site-packages/x.py", 20) == "…/site-packages/x.py"
    assert cut_identifier("dockyard-backend-1", 10) == "dockyard-…"
    assert cut_identifier("backend", 7) == "backend"
    assert cut_identifier(REF, 10, ellipsis="...") == "...:latest"
    assert cut_identifier(REF, 15, ellipsis="...") == ".../backend:..."


def test_fold_identifier_breaks_only_before_a_boundary() -> None:
    path = "/app/.venv/lib/python3.11/site-packages/pydantic_core/_pydantic_core.so"
    assert fold_identifier(path, 30) == [
        "/app/.venv/lib/python3.11",
        "/site-packages/pydantic_core",
        "/_pydantic_core.so",
    ]
    assert fold_identifier("/a/" + "b" * 20, 10) == ["/a", "/bbbbbbbb…"]  # a long segment: cut
    assert fold_identifier(REF, 80) == [REF]


def narrow_table() -> Table:
    """The shape of `inv size`: references in the only column that can give way."""
    table = Table()
    table.add_column("service / image")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for service in ("backend", "worker"):
        table.add_row(
            lines(f"[name]{service}[/name]", Identifier(f"registry.example.com/team/{service}:v2")),
            "221.0 MB",
            "2026-11-27 17:31",
            "ok, budget 300.0 MB, 2 layers",
        )
    return table


def shown(table: Table, width: int, encoding: str = "utf-8") -> list[str]:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="\n")
    out = render.make_console(file=stream, width=width, color_system=None)
    out.print(table)
    stream.flush()
    return [line.rstrip() for line in raw.getvalue().decode(encoding).splitlines()]


def test_a_table_at_80_columns_cuts_references_only_at_a_boundary() -> None:
    assert shown(narrow_table(), 80) == [
        "┏━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ service /      ┃          ┃                  ┃                               ┃",
        "┃ image          ┃     size ┃ created          ┃ status                        ┃",
        "┡━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ backend        │ 221.0 MB │ 2026-11-27 17:31 │ ok, budget 300.0 MB, 2 layers │",
        "│ …/backend:v2   │          │                  │                               │",
        "│ worker         │ 221.0 MB │ 2026-11-27 17:31 │ ok, budget 300.0 MB, 2 layers │",
        "│ …/worker:v2    │          │                  │                               │",
        "└────────────────┴──────────┴──────────────────┴───────────────────────────────┘",
    ]


def test_a_wide_table_shows_references_whole() -> None:
    assert "│ registry.example.com/team/backend:v2 │" in "\n".join(shown(narrow_table(), 140))


def test_a_cp1252_console_gets_three_dots() -> None:
    lines_ = shown(narrow_table(), 80, encoding="cp1252")
    assert "| .../backend:v2 |          |" in "\n".join(lines_)
