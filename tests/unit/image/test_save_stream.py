"""`Engine.save` streamed into `analyse_archive`: a whole archive, docker failing mid-stream,
a missing image, a successful save of something that is no archive (a fake `docker` binary)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import pytest

from dockyard.engine import Engine
from dockyard.errors import CommandFailed, ImageNotFound
from dockyard.image.archive import ArchiveError
from tests.image_archives import CORE, docker_archive, oci_archive
from tests.unit.image.project import settings_for


class FakeClient:
    """Just enough of python-on-whales' DockerClient for Engine.docker_cmd."""

    def __init__(self, command: list[str]) -> None:
        self.docker_cmd = command


def fake_docker(tmp_path: Path, payload: bytes, stderr: str, code: int) -> Engine:
    """An Engine whose `docker` writes `payload` to stdout and `stderr`, then exits `code`."""
    data = tmp_path / "payload.bin"
    data.write_bytes(payload)
    script = (
        "import sys\n"
        f"sys.stdout.buffer.write(open({str(data)!r}, 'rb').read()); sys.stdout.flush()\n"
        f"sys.stderr.write({stderr!r}); sys.exit({code})\n"
    )
    client = FakeClient([sys.executable, "-c", script, "--"])
    return Engine(settings_for(tmp_path), client=cast(Any, client))


def save_and_analyse(engine: Engine) -> Any:
    from dockyard.image.analysis import analyse_archive

    with engine.save("example/app:1") as stream:
        return analyse_archive(stream)


def test_save_streams_a_whole_archive(tmp_path: Path) -> None:
    engine = fake_docker(tmp_path, docker_archive(CORE), "", 0)
    assert save_and_analyse(engine).total_bytes == 20120


def test_save_failing_mid_stream_reports_dockers_own_message(tmp_path: Path) -> None:
    archive = oci_archive(CORE)
    engine = fake_docker(
        tmp_path, archive[: len(archive) // 2], "Error response from daemon: disk full\n", 1
    )
    with pytest.raises(CommandFailed) as caught:
        save_and_analyse(engine)
    assert caught.value.message == "docker save example/app:1 failed: disk full"
    assert caught.value.call is not None and caught.value.call.return_code == 1


def test_save_of_a_missing_image(tmp_path: Path) -> None:
    engine = fake_docker(tmp_path, b"", "Error response from daemon: reference does not exist\n", 1)
    with pytest.raises(ImageNotFound, match="image not found: example/app:1"):
        save_and_analyse(engine)


def test_save_that_succeeds_with_a_broken_archive_raises_the_archive_error(
    tmp_path: Path,
) -> None:
    engine = fake_docker(tmp_path, b"not a tar at all" * 100, "", 0)
    with pytest.raises(ArchiveError):
        save_and_analyse(engine)
