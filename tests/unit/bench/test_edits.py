"""Scratch copies of the build context and the scenarios' edits: the user's tree stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.bench.edits import (
    EXTRA_PACKAGES,
    code_edit,
    copy_context,
    deps_edit,
    extra_package,
)
from dockyard.errors import SettingsError
from dockyard.settings import BenchStrategy
from tests.unit.bench.helpers import BACKEND, backend_plan, tree_digest


def test_scratch_copy_and_edits_leave_the_users_tree_alone(tmp_path: Path) -> None:
    before = tree_digest(BACKEND)
    plan = backend_plan()
    scratch = copy_context(plan, tmp_path / "optimized")
    copied = tree_digest(scratch)
    for rel in plan.files:
        assert copied[rel] == before[rel]
    for name in ("Dockerfile.naive", "Dockerfile.pip-cache", "Dockerfile.optimized"):
        assert copied[name] == before[name]
    assert "tests/test_app_settings.py" not in copied
    assert (scratch / "run.sh").stat().st_mode & 0o111  # still executable

    code = (BACKEND / plan.code_file).read_text(encoding="utf-8")
    reqs = (BACKEND / plan.requirements_file).read_text(encoding="utf-8")
    (scratch / plan.code_file).write_text(code_edit(code, plan.run_id, 1), "utf-8")
    (scratch / plan.requirements_file).write_text(deps_edit(reqs, plan.run_id, 1), "utf-8")
    assert tree_digest(BACKEND) == before
    assert tree_digest(scratch) != copied


def test_dockerfile_outside_the_context_is_copied_under_its_own_name(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "Fast.Dockerfile"
    outside.parent.mkdir()
    outside.write_text("FROM scratch\n", encoding="utf-8")
    outside.with_name("Fast.Dockerfile.dockerignore").write_text("tests\n", encoding="utf-8")
    plan = backend_plan(
        dockerfiles=[
            BenchStrategy("naive", "Dockerfile.naive"),
            BenchStrategy("fast", str(outside)),
        ]
    )
    fast = plan.strategies[1]
    assert fast.scratch_dockerfile == "Dockerfile.dockyard-bench-fast"
    scratch = copy_context(plan, tmp_path / "scratch")
    assert (scratch / "Dockerfile.dockyard-bench-fast").read_text() == "FROM scratch\n"
    assert (scratch / "Dockerfile.dockyard-bench-fast.dockerignore").read_text() == "tests\n"


def test_code_edit_appends_one_unique_comment_line() -> None:
    assert code_edit("x = 1\n", "run", 2) == "x = 1\n# dockyard bench run repetition 2\n"
    assert code_edit("x = 1", "run", 1) == "x = 1\n# dockyard bench run repetition 1\n"
    assert code_edit("x", "run", 1) != code_edit("x", "run", 2)
    assert code_edit("x", "run-a", 1) != code_edit("x", "run-b", 1)


def test_deps_edit_with_hashes_adds_a_hash_pinned_package() -> None:
    reqs = (BACKEND / "requirements.txt").read_text(encoding="utf-8")
    edited = deps_edit(reqs, "run", 1)
    assert edited.startswith(reqs)
    assert edited[len(reqs) :] == (
        "# dockyard bench run repetition 1: adds six\n"
        "six==1.17.0 \\\n"
        "    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"
    )


def test_deps_edit_without_hashes_and_cycling() -> None:
    edited = deps_edit("fastapi==0.165.0\nsix==1.16.0", "r", 1)
    # six is already required: the first package it adds is the next one
    assert edited == (
        "fastapi==0.165.0\nsix==1.16.0\n# dockyard bench r repetition 1: adds iniconfig\n"
        "iniconfig==2.0.0\n"
    )
    names = [extra_package("", rep).name for rep in range(1, 8)]
    assert names == ["six", "iniconfig", "tabulate", "toml", "colorama", "six", "iniconfig"]


def test_deps_edit_when_every_candidate_is_required() -> None:
    everything = "\n".join(f"{p.name.upper()}=={p.version}" for p in EXTRA_PACKAGES)
    with pytest.raises(SettingsError):
        deps_edit(everything, "r", 1)


def test_deps_edit_pins_a_hash_when_pip_checks_hashes() -> None:
    # pip's hash-checking mode comes from a requirement's `--hash` (either spelling), not from
    # a comment that mentions one
    spaced = deps_edit("fastapi==0.165.0 \\\n    --hash sha256:ab\n", "r", 1)
    assert spaced.endswith("six==1.17.0 \\\n    --hash=sha256:" + EXTRA_PACKAGES[0].sha256 + "\n")
    commented = deps_edit("fastapi==0.165.0  # no --hash=sha256:... here\n", "r", 1)
    assert commented.endswith("adds six\nsix==1.17.0\n")
