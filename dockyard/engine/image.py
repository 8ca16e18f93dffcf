"""`docker image`: inspect, history, save (as a stream), remove, list (by name or label)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator, Sequence
from typing import IO, Any

from dockyard.engine.base import EngineBase
from dockyard.engine.errors import last_line, stderr_tail, translate
from dockyard.errors import CommandFailed, DockerCall, DockyardError, ImageNotFound

INSPECT_CHUNK = 200  # ids per `docker image inspect` (71 characters each)


class ImageCommands(EngineBase):
    def image_inspect(self, reference: str) -> dict[str, Any]:
        """`docker image inspect` as a dict; raises a DockyardError naming the image if absent."""
        output = self.run(self.docker_cmd("image", "inspect", "--format", "{{json .}}", reference))
        return dict(json.loads(output))

    def images_inspect(self, references: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`docker image inspect` of several images at once: {reference: data} for the ones
        the engine has (absent ones are left out). One call per `INSPECT_CHUNK` references (a
        Windows command line stays short enough) when all are there, the usual case; else each
        of that chunk alone, because docker names a missing image in its normalized form and
        skips it in the output."""
        wanted = list(dict.fromkeys(references))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), INSPECT_CHUNK):
            chunk = wanted[start : start + INSPECT_CHUNK]
            try:
                command = self.docker_cmd("image", "inspect", "--format", "{{json .}}", *chunk)
                output = self.run(command)
            except ImageNotFound:
                for reference in chunk:
                    with contextlib.suppress(ImageNotFound):
                        found[reference] = self.image_inspect(reference)
                continue
            rows = [json.loads(line) for line in output.splitlines() if line.strip()]
            found.update(zip(chunk, rows, strict=True))
        return found

    def image_exists(self, reference: str) -> bool:
        """Whether the engine has the image; a daemon that cannot be reached still raises."""
        try:
            self.image_inspect(reference)
        except ImageNotFound:
            return False
        return True

    def history(self, reference: str) -> list[dict[str, Any]]:
        """`docker image history` rows, newest first (python-on-whales has no history API).

        `--human=false` makes `Size` exact bytes (still a string) and `CreatedAt` RFC 3339.
        """
        command = self.docker_cmd(
            "image", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", reference
        )
        output = self.run(command)
        return [json.loads(line) for line in output.splitlines() if line.strip().startswith("{")]

    @contextlib.contextmanager
    def save(self, reference: str) -> Iterator[IO[bytes]]:
        """`docker save` as a byte stream, never written to disk.

        When the reader raises a DockyardError (e.g. a truncated archive) because docker save
        itself failed, docker's own message is raised instead.
        """
        command = self.docker_cmd("save", reference)
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise translate(exc) from None
        stdout, stderr = process.stdout, process.stderr
        assert stdout is not None and stderr is not None
        with stdout, stderr:
            try:
                yield stdout
                while stdout.read(1 << 20):  # drain what the reader did not need
                    pass
            except DockyardError:
                code = 0
                if not stdout.read(1):  # at the end: docker save has finished or died
                    try:
                        code = process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        code = 0
                if code:
                    raise _save_failed(reference, command, code, stderr) from None
                process.kill()
                process.wait()
                raise
            except BaseException:
                process.kill()
                process.wait()
                raise
            code = process.wait()
            if code != 0:
                raise _save_failed(reference, command, code, stderr)

    def image_remove(self, reference: str) -> bool:
        """`docker image rm` (never forced); False when the engine refused (e.g. in use)."""
        try:
            self.run(self.docker_cmd("image", "rm", reference))
        except DockyardError:
            return False
        return True

    def local_images(self) -> list[dict[str, Any]]:
        """`docker image inspect` of every local image, untagged ones included: one
        `docker image ls`, then one `docker image inspect` of them all (`_listed_images`)."""
        return self._listed_images()

    def push(self, reference: str) -> None:
        """`docker push --quiet` (credentials from Docker's own login store); raises the
        translated error when the registry refuses."""
        self.run(self.docker_cmd("push", "--quiet", reference))

    def image_references(self, pattern: str) -> list[str]:
        """`repository:tag` of the local images matching a reference pattern (`repo/*`)."""
        output = self.run(
            self.docker_cmd(
                "image",
                "ls",
                "--filter",
                f"reference={pattern}",
                "--format",
                "{{.Repository}}:{{.Tag}}",
            )
        )
        return sorted({line.strip() for line in output.splitlines() if line.strip()})

    def labelled_images(self, label: str) -> list[dict[str, Any]]:
        """`docker image inspect` of every local image with the label (`key` or `key=value`),
        untagged ones included (`docker image ls` has no labels column: listed, then inspected
        in one call)."""
        return self._listed_images("--filter", f"label={label}")

    def _listed_images(self, *filters: str) -> list[dict[str, Any]]:
        """The images `docker image ls --quiet --no-trunc FILTERS` lists, inspected together
        (`images_inspect`; one removed meanwhile is left out)."""
        output = self.run(self.docker_cmd("image", "ls", "--quiet", "--no-trunc", *filters))
        ids = sorted({line.strip() for line in output.splitlines() if line.strip()})
        return list(self.images_inspect(ids).values())


def _save_failed(
    reference: str, command: list[str], code: int, stderr_pipe: IO[bytes]
) -> DockyardError:
    stderr = stderr_pipe.read().decode("utf-8", "replace")
    call = DockerCall(tuple(command), code, stderr)
    if "no such image" in stderr.lower() or "reference does not exist" in stderr.lower():
        return ImageNotFound(
            f"image not found: {reference}", "check the name with `docker image ls`", call=call
        )
    return CommandFailed(
        f"docker save {reference} failed: {last_line(stderr) or f'exit code {code}'}",
        "check the image name with `docker image ls`, and the engine's free disk space",
        detail=stderr_tail(stderr),
        call=call,
    )
