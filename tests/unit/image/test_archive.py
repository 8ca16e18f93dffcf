"""dockyard.image.archive: one streaming pass over `docker save` (compression sniffing, zstd,
linked layers, broken and truncated streams, flat memory), without Docker."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from dockyard.image.analysis import WastedPath, analyse_archive
from dockyard.image.archive import ArchiveError
from tests.image_archives import (
    CORE,
    CORE_LAYERS,
    HISTORY,
    D,
    F,
    analyse,
    docker_archive,
    history,
    layer_tar,
    oci_archive,
    one_image,
    sha,
    write_archive,
)


def test_gzip_blob_sizes_and_compression() -> None:
    result = analyse(oci_archive(CORE, gzip_layers=(0,)))
    assert result.layers[0].compression == "gzip"
    assert result.layers[1].compression == "none"
    assert result.layers[0].blob_size == len(gzip.compress(CORE_LAYERS[0], mtime=0))
    assert result.layers[1].blob_size == len(CORE_LAYERS[1])


def test_repeated_identical_layer_is_linked_in_docker_archive() -> None:
    empty = layer_tar(D("app"))
    image = one_image(layer_tar(F("a", 5)), empty, layer_tar(F("a", 5)), empty)
    for data in (docker_archive(image), oci_archive(image)):
        result = analyse(data)
        assert len(result.layers) == 4
        assert result.wasted_bytes == 5


def test_zstd_layer_fails_with_a_clear_message() -> None:
    zstd_blob = b"\x28\xb5\x2f\xfd" + b"\0" * 600
    image = one_image(layer_tar(F("a", 1)))
    data = oci_archive(image, blobs={sha(zstd_blob): zstd_blob})
    assert analyse(data).total_bytes == 1  # an unreferenced zstd blob is no problem
    config = image.config()
    manifest = {
        "schemaVersion": 2,
        "config": {"digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                    "digest": sha(zstd_blob), "size": len(zstd_blob)}],
    }  # fmt: skip
    manifest_blob = json.dumps(manifest).encode()
    index = {"manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": sha(manifest_blob)}]}  # fmt: skip
    archive = write_archive(
        [
            ("blobs/sha256/" + sha(zstd_blob)[7:], zstd_blob),
            ("blobs/sha256/" + sha(config)[7:], config),
            ("blobs/sha256/" + sha(manifest_blob)[7:], manifest_blob),
            ("index.json", json.dumps(index).encode()),
        ]
    )
    with pytest.raises(ArchiveError, match="zstd") as caught:
        analyse(archive)
    assert "zstandard" in caught.value.hint


def test_real_containerd_store_save_with_gzip_layers() -> None:
    """`docker save` of the containerd image store (engine 26.1, captured): index.json -> image
    index -> platform manifest + attestation manifest (in-toto JSON), gzip layer blobs; the
    archive itself gzipped for the repo, which the reader accepts too."""
    with (HISTORY / "containerd-store-gzip.save.tar.gz").open("rb") as stream:
        result = analyse_archive(stream)
    assert (result.format, result.image) == ("oci", "dockyard-fixture:gzip")
    assert [(layer.compression, layer.instruction, layer.size) for layer in result.layers] == [
        ("gzip", "COPY a1.txt /srv/a.txt", 14),
        ("gzip", "COPY b.txt /srv/b.txt", 4),
        ("gzip", "COPY a2.txt /srv/a.txt", 28),
    ]
    assert (result.total_bytes, result.wasted_bytes, result.visible_bytes) == (46, 14, 32)
    assert result.wasteful_paths == (WastedPath("srv/a.txt", 2, 14, 14, False, (0, 2)),)


def test_real_containerd_store_save_with_zstd_layers() -> None:
    with (
        (HISTORY / "containerd-store-zstd.save.tar.gz").open("rb") as stream,
        pytest.raises(ArchiveError, match="zstd-compressed layer") as caught,
    ):
        analyse_archive(stream)
    assert "zstandard" in caught.value.hint


def test_not_an_archive() -> None:
    with pytest.raises(ArchiveError, match="not a docker save archive"):
        analyse(b"Error response from daemon: No such image")


def test_missing_layer_blob() -> None:
    data = oci_archive(CORE)
    with tarfile.open(fileobj=io.BytesIO(data)) as blobs:
        kept = [
            (member.name, blobs.extractfile(member).read())  # type: ignore[union-attr]
            for member in blobs.getmembers()
            if member.name != "blobs/sha256/" + CORE.diff_ids[2][7:]
        ]
    with pytest.raises(ArchiveError, match="missing from the archive"):
        analyse(write_archive(kept))


def test_truncated_stream() -> None:
    data = oci_archive(CORE)
    with pytest.raises(ArchiveError):
        analyse(data[: len(data) // 3])


class ReadOnlyStream:
    """Like a pipe: read() only, no seek or tell."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def test_streams_without_holding_file_contents(tmp_path: Path) -> None:
    """A 48 MB layer passes through a read-only stream with a few hundred kB of Python memory."""
    big = 48 * 1024 * 1024
    layer_path = tmp_path / "layer.tar"
    with tarfile.open(layer_path, "w") as layer:
        info = tarfile.TarInfo("big.bin")
        info.size = big
        layer.addfile(info, io.BufferedReader(Zeros(big)))
        for index in range(2000):
            layer.addfile(tarfile.TarInfo(f"small/{index}"))
    layer_size = layer_path.stat().st_size
    digest = hashlib.sha256()
    with layer_path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    diff_id = "sha256:" + digest.hexdigest()
    config = json.dumps(
        {"rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": history("RUN big")}
    ).encode()
    archive_path = tmp_path / "image.tar"
    with tarfile.open(archive_path, "w") as archive:
        info = tarfile.TarInfo("abc/layer.tar")
        info.size = layer_size
        with layer_path.open("rb") as source:
            archive.addfile(info, source)
        for name, data in (
            ("cfg.json", config),
            (
                "manifest.json",
                json.dumps([{"Config": "cfg.json", "Layers": ["abc/layer.tar"]}]).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    stream = ReadOnlyStream(archive_path)
    tracemalloc.start()
    try:
        result = analyse_archive(stream)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        stream.close()
    assert result.total_bytes == big
    assert result.layers[0].added == 2001
    assert peak < 2 * 1024 * 1024, peak
