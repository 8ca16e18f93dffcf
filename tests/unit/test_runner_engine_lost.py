"""A build whose engine went away (dockerd restarted mid-build): the words both stacks' CLIs
printed in tests/docker/test_bad_input.py::test_engine_restarted_mid_build."""

from __future__ import annotations

import pytest

from dockyard.progress.runner import engine_lost

# Compose 2.26 / buildx 0.13 (engine 26.1) and Compose 2.40 (engine 28.5), as they printed them.
SEEN = [
    "failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF",
    "failed to solve: Unavailable: error reading from server: EOF",
]


@pytest.mark.parametrize("stderr", SEEN)
def test_a_lost_engine_is_named_with_a_hint(stderr: str) -> None:
    failure = engine_lost("the build", 4.4, [], f"some progress\n{stderr}\n")
    assert failure is not None
    assert failure.message == "the Docker engine went away during the build after 4.4s"
    assert failure.hint.startswith("it was restarted or stopped (error reading from server: EOF)")
    assert stderr in failure.detail


def test_any_other_failure_is_not_a_lost_engine() -> None:
    stderr = (
        'failed to solve: process "/bin/sh -c exit 7" did not complete successfully: exit code: 7'
    )
    assert engine_lost("the build", 1.0, [], stderr) is None
