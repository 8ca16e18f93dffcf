"""Checks of what a build sends: secret-looking names, root-only `.dockerignore` patterns, the
scripts the image executes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.doctor.checks.service_context import root_only_patterns
from dockyard.doctor.report import FAIL
from dockyard.doctor.secret_files import secret_kind
from tests.unit.doctor.helpers import dockerfile_facts, result_of


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".env", "environment file"),
        ("config/.env.production", "environment file"),
        ("prod.env", "environment file"),
        (".env.example", None),
        ("settings/.env.sample", None),
        ("certs/server.pem", "PEM key or certificate"),
        ("deploy/id_ed25519", "SSH private key"),
        ("home/.ssh/known_hosts", "SSH file"),
        ("home/.ssh/id_rsa.pub", None),
        (".aws/credentials", "credentials file"),
        (".docker/config.json", "credentials file"),
        ("frontend/.npmrc", "npm config (registry tokens)"),
        ("app/main.py", None),
        ("requirements.txt", None),
        (".key", None),
    ],
)
def test_secret_kind(path: str, kind: str | None) -> None:
    assert secret_kind(path) == kind


@pytest.mark.parametrize(
    ("patterns", "files", "expected"),
    [
        (["*.pyc"], [], ["`*.pyc` matches only at the context root (use `**/*.pyc`)"]),
        (["*.pyc", "**/*.pyc"], ["a/b.pyc"], []),
        (["build", "dist", ".venv"], ["src/build/x.py"], []),  # names: root-only is plausible
        (
            ["*.log"],
            ["a.log", "logs/x.log"],
            [
                "`*.log` matches only at the context root (use `**/*.log`); it lets in 1 file(s): "
                "logs/x.log"
            ],
        ),
        (["*.log"], ["a.log", "src/x.py"], []),
        (["!keep.pyc", "**/__pycache__"], [], []),
    ],
)
def test_root_only_patterns(patterns: list[str], files: list[str], expected: list[str]) -> None:
    assert root_only_patterns(patterns, files) == expected


def test_crlf_in_a_script_a_run_heredoc_executes(tmp_path: Path) -> None:
    (tmp_path / "start").write_bytes(b"#!/bin/sh\r\necho hi\r\n")
    facts = dockerfile_facts(
        "FROM x\nCOPY start /start\nRUN <<EOF\n/start\nEOF\nUSER 1\n", tmp_path
    )
    result = result_of(facts, "crlf-line-endings")
    assert (result.status, result.details) == (FAIL, ("start",))
