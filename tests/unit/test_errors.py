"""Docker failures become one DockyardError with a hint; fed with real captured stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException

from dockyard import errors
from dockyard.engine import translate

STDERR = Path(__file__).resolve().parents[1] / "data" / "stderr"


def failure(stderr: str, command: tuple[str, ...] = ("docker", "compose", "up")) -> DockerException:
    """The exception python-on-whales raises for a docker command that exits 1."""
    return DockerException(list(command), 1, stderr=stderr.encode("utf-8"))


@pytest.mark.parametrize(
    ("capture", "kind", "message"),
    [
        ("compose-file-missing.txt", errors.ComposeProjectError, "compose file not found"),
        (
            "compose-invalid-yaml.txt",
            errors.ComposeProjectError,
            "invalid compose file: yaml: line 1: did not find expected key",
        ),
        ("compose-unknown-service.txt", errors.UnknownService, "no such service: nosuch"),
        (
            "compose-up-port-taken.txt",
            errors.CommandFailed,
            "port 127.0.0.1:18999 is already in use",
        ),
        (
            "compose-up-port-taken-engine28.txt",
            errors.CommandFailed,
            "port 127.0.0.1:18999 is already in use",
        ),
        (
            "daemon-unreachable-tcp.txt",
            errors.DaemonUnreachable,
            "no Docker engine answers at tcp://127.0.0.1:1",
        ),
        (
            "docker-host-nowhere.txt",
            errors.DaemonUnreachable,
            "no Docker engine answers at http://nowhere.invalid:2375",
        ),
        ("image-missing.txt", errors.ImageNotFound, "image not found: no-such-image:nope"),
    ],
)
def test_real_stderr_is_translated(
    capture: str, kind: type[errors.DockyardError], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    err = translate(failure((STDERR / capture).read_text(encoding="utf-8")))
    assert type(err) is kind
    assert err.message.startswith(message)
    assert err.hint, "every translated error carries a hint"
    assert "\n" not in err.one_line()


def test_missing_binary_is_docker_not_found() -> None:
    from python_on_whales import ClientNotFoundError

    err = translate(ClientNotFoundError("The binary 'docker' could not be found on your PATH"))
    assert isinstance(err, errors.DockerNotFound)
    assert "install Docker" in err.hint


def test_real_missing_binary_through_python_on_whales() -> None:
    from python_on_whales import DockerClient

    from dockyard.engine import docker_errors

    client = DockerClient(client_call=["docker-binary-that-does-not-exist"])
    with pytest.raises(errors.DockerNotFound), docker_errors():
        client.version()


def test_unknown_failure_keeps_command_and_tail() -> None:
    err = translate(failure("line one\nsomething odd happened\n"))
    assert isinstance(err, errors.CommandFailed)
    assert err.message == "something odd happened"
    assert err.call is not None
    assert err.call.command == ("docker", "compose", "up")
    assert err.call.return_code == 1
    assert err.call.stderr == "line one\nsomething odd happened\n"
    assert err.detail.endswith("something odd happened")


def test_every_translated_error_keeps_its_docker_call() -> None:
    for capture in sorted(STDERR.glob("*.txt")):
        stderr = capture.read_text(encoding="utf-8")
        err = translate(failure(stderr))
        assert err.call == errors.DockerCall(("docker", "compose", "up"), 1, stderr), capture.name
