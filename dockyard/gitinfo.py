"""What the project's git checkout says, for the ledger (the commit) and the team cache (the
branches); "" / defaults outside git or without a `git` on PATH, never an error."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(root: Path, *args: str) -> str:
    """`git ARGS` in `root`: its stdout stripped, or "" when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def commit(root: Path) -> str:
    """The short commit of HEAD."""
    return git(root, "rev-parse", "--short", "HEAD")


def branches(root: Path) -> tuple[str, str]:
    """(current branch, default branch); ("main", "main") outside git. The default branch is
    origin's HEAD when known, else `main`."""
    default = git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD").partition("/")[2]
    default = default or "main"
    current = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return (current if current and current != "HEAD" else default), default
