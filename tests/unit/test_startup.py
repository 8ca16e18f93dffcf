"""`inv --list` must stay fast: listing tasks may not import python-on-whales or pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_listing_tasks_imports_no_heavy_module() -> None:
    code = (
        "import sys; from invoke import Program; import tasks; "
        "Program(namespace=tasks.ns, binary='inv').run(['inv', '--list'], exit=False); "
        "heavy = [m for m in ('python_on_whales', 'pydantic', 'rich', 'dotenv')"
        " if m in sys.modules]; "
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "up" in out and "HEAVY=\n" in out.replace("\r", "") + "\n"
    assert out.strip().endswith("HEAVY="), out


def test_the_dockyard_command_lists_without_heavy_modules_too(tmp_path: Path) -> None:
    code = (
        "import sys; from dockyard.cli import program; "
        "program().run(['dockyard', '--list'], exit=False); "
        "heavy = [m for m in ('python_on_whales', 'pydantic', 'rich', 'dotenv')"
        " if m in sys.modules]; "
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "build-fast" in out and out.strip().endswith("HEAVY="), out
