"""The `dockyard` program: optional positionals become flags; `inv` takes the flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke.parser import Parser

from dockyard.cli import program, with_positionals_as_flags
from dockyard.tasks import namespace

REPO = Path(__file__).resolve().parents[2]


def contexts() -> list[Any]:
    return list(namespace().to_contexts())


def parse(*argv: str, rewrite: bool = True) -> dict[str, dict[str, Any]]:
    """What the parser makes of ARGV with dockyard's tasks (no task runs); `rewrite` is what
    the `dockyard` program adds to Invoke's own parsing (`inv` does not)."""
    words = with_positionals_as_flags(argv, contexts()) if rewrite else list(argv)
    result = Parser(contexts=contexts()).parse_argv(words)
    return {str(context.name): context.as_kwargs for context in result}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["history"], ["history"]),
        (["history", "backend"], ["history", "--image", "backend"]),
        (["inspect-layers", "--ci", "x:1"], ["inspect-layers", "--ci", "--image", "x:1"]),
        (["inspect-layers", "--top", "3", "x"], ["inspect-layers", "--top", "3", "--image", "x"]),
        (["size", "history"], ["size", "history"]),  # two tasks, as the names say
        (["inspect-layers", "--base", "history"], ["inspect-layers", "--base", "history"]),
        (["logs", "db", "--follow"], ["logs", "--service", "db", "--follow"]),
        (["size", "--image", "a", "b"], ["size", "--image", "a", "b"]),  # given as a flag
        (["build-fast", "backend"], ["build-fast", "backend"]),  # no optional positional
    ],
)
def test_positionals_become_flags(argv: list[str], expected: list[str]) -> None:
    assert with_positionals_as_flags(argv, contexts()) == expected


def test_the_parser_reads_what_the_program_gives_it() -> None:
    assert parse("history")["history"]["image"] == ""
    assert parse("history", "backend")["history"]["image"] == "backend"
    both = parse("size", "backend,postgres", "--json", "inspect-layers", "--top", "3")
    assert both["size"]["image"] == "backend,postgres" and both["size"]["json"] is True
    assert both["inspect-layers"] == {**both["inspect-layers"], "image": "", "top": 3}


def test_inv_takes_the_flags_and_cannot_misread_two_tasks() -> None:
    assert parse("size", "--image", "backend", rewrite=False)["size"]["image"] == "backend"
    both = parse("size", "history", rewrite=False)
    assert set(both) == {"size", "history"} and both["size"]["image"] == ""


def test_dockyard_lists_its_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        program().run(["dockyard", "--list"])
    assert done.value.code in (0, None)
    listing = capsys.readouterr().out
    for name in ("build-fast", "up", "inspect-layers", "doctor", "bench"):
        assert name in listing


def test_the_repository_tasks_file_is_a_thin_import() -> None:
    code = (REPO / "tasks.py").read_text(encoding="utf-8")
    assert "from dockyard.tasks import namespace" in code
    assert len(code.splitlines()) < 10


def test_star_import_adds_exactly_the_tasks(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(
        "from invoke import task\nfrom dockyard.tasks import *\n\n\n@task\ndef mine(c):\n"
        '    """A task of the project itself."""\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = {line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()}
    assert {"mine", "build-fast", "up", "inspect-layers", "doctor"} <= names
    assert not names & {"task", "namespace", "Collection", "Path"}
