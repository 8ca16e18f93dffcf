"""dockyard.imageref: one normal form per image reference (`cache_from` and FROM compare in it)."""

from __future__ import annotations

import pytest

from dockyard.imageref import normalize


@pytest.mark.parametrize(
    ("ref", "normal"),
    [
        ("python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ("python", "docker.io/library/python:latest"),
        ("docker.io/library/python:3.11", "docker.io/library/python:3.11"),
        ("dockyard/backend:latest", "docker.io/dockyard/backend:latest"),
        ("ghcr.io/o/app", "ghcr.io/o/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
        ("app@sha256:ab", "docker.io/library/app:latest@sha256:ab"),
    ],
)
def test_normalize_ref(ref: str, normal: str) -> None:
    assert normalize(ref) == normal
