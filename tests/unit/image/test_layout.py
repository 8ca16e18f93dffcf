"""dockyard.image.layout: which image an archive holds and its layers in order, in both
`docker save` layouts, with each layer's instruction from the config history."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import pytest

from dockyard.image.archive import ArchiveError
from tests.image_archives import (
    BUILDERS,
    CORE,
    HISTORY,
    F,
    Image,
    analyse,
    docker_archive,
    history,
    layer_tar,
    oci_archive,
    one_image,
    write_archive,
)


def test_core_format_and_name(build: Callable[[Image], bytes]) -> None:
    result = analyse(build(CORE))
    assert result.image == "example/app:1"
    assert result.format in ("docker-archive", "oci")
    expected = "docker-archive" if build is BUILDERS["docker-archive"] else "oci"
    assert result.format == expected


def test_picks_the_named_image_of_a_multi_image_archive() -> None:
    other = Image([layer_tar(F("z", 42))], history("RUN z"), tag="other/img:2")
    for make in (docker_archive, oci_archive):
        data = make(CORE, other)
        assert analyse(data).total_bytes == 20120
        picked = analyse(data, image="other/img:2")
        assert (picked.image, picked.total_bytes) == ("other/img:2", 42)
        assert analyse(data, image="docker.io/other/img:2").total_bytes == 42
        with pytest.raises(ArchiveError, match="not in the archive"):
            analyse(data, image="missing:1")


def test_archive_without_index_or_manifest() -> None:
    with pytest.raises(ArchiveError, match=r"no index\.json or manifest\.json"):
        analyse(write_archive([("hello.txt", b"hi")]))


def test_empty_layers_in_history_are_skipped_when_mapping_instructions() -> None:
    config = json.loads((HISTORY / "buildkit-args-cache-mount.config.json").read_text())
    made = [row for row in config["history"] if not row.get("empty_layer")]
    assert len(made) == 8 == len(config["rootfs"]["diff_ids"])
    layers = [layer_tar(F(f"f{index}", index + 1)) for index in range(8)]
    image = Image(layers, config["history"])
    result = analyse(oci_archive(image, gzip_layers=(1,)), base_layer_count=1)
    assert [layer.instruction for layer in result.layers] == [
        "Imported from -",
        "WORKDIR /srv",
        "COPY requirements.txt .",
        'RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.cache/pip'
        " && ls /root/.cache/pip",
        "RUN echo exec-form > /srv/exec.txt",
        "RUN echo one &&     echo two > /srv/two.txt",
        "RUN echo heredoc > /srv/heredoc.txt\necho second line >> /srv/heredoc.txt",
        'RUN echo "$GREETING" | tee /srv/greeting.txt',
    ]


def test_history_shorter_than_layers_leaves_instructions_empty() -> None:
    image = one_image(layer_tar(F("a", 1)), layer_tar(F("b", 1)), hist=history("RUN one"))
    assert [layer.instruction for layer in analyse(oci_archive(image)).layers] == ["RUN one", ""]


def rewrite_index(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The archive with its index.json changed in place by `change`."""
    members: list[tuple[str, bytes | str]] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            raw = archive.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "index.json":
                doc = json.loads(raw)
                change(doc)
                raw = json.dumps(doc).encode()
            members.append((member.name, raw))
    return write_archive(members)


OTHER = Image([layer_tar(F("z", 42))], history("RUN z"), tag="other/img:2")


def test_compat_manifest_tags_belong_to_their_own_image() -> None:
    """Docker 25+ writes index.json and manifest.json; an image's RepoTags are the entry with its
    config, not the first entry (the index may list the images in another order)."""
    data = oci_archive(CORE, OTHER, compat_manifest=True)
    reordered = rewrite_index(data, lambda doc: doc["manifests"].reverse())
    picked = analyse(reordered, image="example/app:1")
    assert (picked.image, picked.total_bytes) == ("example/app:1", 20120)
    assert analyse(reordered, image="other/img:2").total_bytes == 42

    def unnamed(doc: dict[str, Any]) -> None:
        for descriptor in doc["manifests"]:
            descriptor.pop("annotations")

    bare = rewrite_index(data, unnamed)  # no names in the index: the compat manifest names them
    assert analyse(bare).image == "example/app:1"
    other = analyse(bare, image="other/img:2")
    assert (other.image, other.total_bytes) == ("other/img:2", 42)
