"""Listing tasks must stay fast: it may not import python-on-whales, pydantic, rich or dotenv,
through `inv` (this repository's tasks.py) or the `dockyard` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROGRAMS = {
    "inv": "from invoke import Program; import tasks; "
    "Program(namespace=tasks.ns, binary='inv').run(['inv', '--list'], exit=False)",
    "dockyard": "from dockyard.cli import program; "
    "program().run(['dockyard', '--list'], exit=False)",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_listing_tasks_imports_no_heavy_module(name: str, tmp_path: Path) -> None:
    code = (
        f"import sys; {PROGRAMS[name]}; "
        "heavy = [m for m in ('python_on_whales', 'pydantic', 'rich', 'dotenv')"
        " if m in sys.modules]; "
        "print('HEAVY=' + ','.join(heavy))"
    )
    cwd = REPO if name == "inv" else tmp_path  # the dockyard command runs anywhere
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.replace("\r", "")
    assert "build-fast" in out and "up" in out
    assert out.strip().endswith("HEAVY="), out
