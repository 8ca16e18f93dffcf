"""What a benchmark owns, by name, and removing it: a run's images and cache mounts at its end,
and what runs that never got there (killed, `--keep`) left behind."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.bench.plan import BenchPlan
    from dockyard.engine import EngineProtocol

IMAGE_REPOSITORY = "dockyard-bench"
CACHE_PREFIX = "dockyard-bench"
_ANY_RUN_CACHE = f"{CACHE_PREFIX}-"

# A cache mount's build-cache record (`docker system df -v`) has the description
# `cached mount <target> from exec <command> with id "/<id>"`.
_MOUNT_ID = re.compile(r'with id "/?([^"]*)"$')


def image_tag(strategy: str, tag: str) -> str:
    """`dockyard-bench/<strategy>:<tag>`: every image a run builds is tagged so."""
    return f"{IMAGE_REPOSITORY}/{strategy}:{tag}"


def run_cache_prefix(run_id: str) -> str:
    """What every cache-mount id of one run starts with."""
    return f"{CACHE_PREFIX}-{run_id}-"


def mount_id(record: Mapping[str, Any]) -> str | None:
    """The id of the cache mount a build-cache record holds; None for other records."""
    match = _MOUNT_ID.search(str(record.get("Description") or ""))
    return match[1] if match else None


def owned_cache_records(records: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Build-cache records of cache mounts whose id starts with `prefix`."""
    owned = []
    for record in records:
        found = mount_id(record)
        if found is not None and found.startswith(prefix):
            owned.append(dict(record))
    return owned


def cleanup(
    engine: EngineProtocol, plan: BenchPlan, tags: Sequence[str], image_ids: Sequence[str]
) -> list[str]:
    """Remove the run's images (tags, then the ids it produced) and its cache-mount records."""
    return _remove(engine, tags, image_ids, plan.cache_prefix)


def _remove(
    engine: EngineProtocol, tags: Sequence[str], image_ids: Sequence[str], cache_prefix: str
) -> list[str]:
    """Remove images by tag, then by id, then the cache mounts whose id starts with the prefix;
    return what was removed (an image still used by a container stays, and is not listed)."""
    removed: list[str] = []
    for tag in tags:
        if engine.image_remove(tag):
            removed.append(tag)
    for image_id in image_ids:  # earlier builds' images, dangling once their tag moved on
        if engine.image_remove(image_id):
            removed.append(f"image {image_id.removeprefix('sha256:')[:12]}")
    for record in owned_cache_records(engine.build_cache_records(), cache_prefix):
        record_id = str(record.get("ID") or "")
        if record_id and engine.prune_build_cache_record(record_id):
            removed.append(f"cache mount {mount_id(record) or record_id}")
    return removed


@dataclass(frozen=True)
class Leftovers:
    """What runs that never reached their cleanup (killed, `--keep`) left behind."""

    images: tuple[str, ...]  # `dockyard-bench/<strategy>:<run id>[-engine]`
    cache_mounts: tuple[str, ...]  # ids `dockyard-bench-<run id>-...`

    def describe(self) -> list[str]:
        return [
            *(f"image {name}" for name in self.images),
            *(f"cache mount {mount}" for mount in self.cache_mounts),
        ]


def find_leftovers(engine: EngineProtocol) -> Leftovers:
    """Every image tagged in the benchmark's repository and every cache mount with its prefix.
    (Untagged images of a killed run cannot be told apart from anyone else's.)"""
    records = owned_cache_records(engine.build_cache_records(), _ANY_RUN_CACHE)
    mounts = {found for record in records if (found := mount_id(record)) is not None}
    return Leftovers(tuple(engine.image_references(f"{IMAGE_REPOSITORY}/*")), tuple(sorted(mounts)))


def remove_leftovers(engine: EngineProtocol, leftovers: Leftovers) -> list[str]:
    """Remove the listed images and every cache mount of any benchmark run; what was removed,
    each named with its kind (`image ...`, `cache mount ...`)."""
    removed = _remove(engine, leftovers.images, (), _ANY_RUN_CACHE)
    return [f"image {r}" if not r.startswith(("image ", "cache mount ")) else r for r in removed]
