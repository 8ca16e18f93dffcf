"""What a benchmark owns, by name, and removing it: a run's images and cache mounts at its end,
and what runs whose process has ended (killed, `--keep`) left behind, never a live run's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.bench.owner import ANY_RUN_ID, RunState, describe_state, run_state

if TYPE_CHECKING:
    from dockyard.bench.plan import BenchPlan
    from dockyard.engine import EngineProtocol

IMAGE_REPOSITORY = "dockyard-bench"
CACHE_PREFIX = "dockyard-bench"
RUN_LABEL = "dockyard.bench.run"  # on every image a run builds: its run id
_ANY_RUN_CACHE = f"{CACHE_PREFIX}-"
_REFERENCE_SUFFIX = "-engine"  # the tag of the plain no-change build: `<run id>-engine`

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


def run_of_tag(reference: str) -> str:
    """The run id in a `dockyard-bench/<strategy>:<run id>[-engine]` tag (else the tag)."""
    tag = reference.rpartition(":")[2]
    match = ANY_RUN_ID.fullmatch(tag.removesuffix(_REFERENCE_SUFFIX))
    return match[0] if match else tag


def run_of_mount(mount: str) -> str | None:
    """The run id in a `dockyard-bench-<run id>-...` cache-mount id; None when it has none."""
    rest = mount.removeprefix(_ANY_RUN_CACHE)
    match = ANY_RUN_ID.match(rest)
    return match[0] if match and rest[match.end() :].startswith("-") else None


def cleanup(
    engine: EngineProtocol, plan: BenchPlan, tags: Sequence[str], image_ids: Sequence[str]
) -> list[str]:
    """Remove the run's images (tags, then the ids it produced) and its cache-mount records."""
    removed = _remove_images(engine, tags, image_ids)
    records = owned_cache_records(engine.build_cache_records(), plan.cache_prefix)
    return removed + _prune(engine, records)


def _remove_images(
    engine: EngineProtocol, tags: Sequence[str], image_ids: Sequence[str]
) -> list[str]:
    """Remove images by tag, then by id; what was removed (an image still used by a container
    stays, and is not listed)."""
    removed: list[str] = []
    for tag in tags:
        if engine.image_remove(tag):
            removed.append(tag)
    for image_id in image_ids:  # earlier builds' images, dangling once their tag moved on
        if engine.image_remove(image_id):
            removed.append(f"image {short_id(image_id)}")
    return removed


def _prune(engine: EngineProtocol, records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Remove these cache-mount records, in one prune by their record ids."""
    named = {str(r.get("ID") or ""): mount_id(r) for r in records}
    named.pop("", None)
    removed = engine.prune_build_cache_records(list(named))
    return [f"cache mount {named[i] or i}" for i in named if i in removed]


def short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


@dataclass(frozen=True)
class RunLeftovers:
    """What one run left in the engine, and whether its process still runs."""

    run_id: str
    state: RunState
    images: tuple[str, ...] = ()  # `dockyard-bench/<strategy>:<run id>[-engine]`
    untagged: tuple[str, ...] = ()  # ids of images with the run's label and no tag
    cache_mounts: tuple[str, ...] = ()  # ids `dockyard-bench-<run id>-...`
    cache_records: tuple[dict[str, Any], ...] = ()  # their build-cache records

    def describe(self) -> list[str]:
        return [
            *(f"image {name}" for name in self.images),
            *(f"image {short_id(image_id)} (untagged)" for image_id in self.untagged),
            *(f"cache mount {mount}" for mount in self.cache_mounts),
        ]

    @property
    def why(self) -> str:
        return describe_state(self.run_id, self.state)


@dataclass(frozen=True)
class Leftovers:
    """What benchmark runs left behind, run by run: only runs whose process has ended (`gone`)
    are removed; a running run's things, and those whose owner cannot be checked, stay."""

    runs: tuple[RunLeftovers, ...] = ()

    @property
    def gone(self) -> tuple[RunLeftovers, ...]:
        return tuple(run for run in self.runs if run.state == "gone")

    @property
    def left_alone(self) -> tuple[RunLeftovers, ...]:
        return tuple(run for run in self.runs if run.state != "gone")

    def describe(self) -> list[str]:
        """What `remove_leftovers` removes, each named with its kind."""
        return [line for run in self.gone for line in run.describe()]


def find_leftovers(
    engine: EngineProtocol,
    runs: Sequence[str] = (),
    *,
    state: Callable[[str], RunState] = run_state,
) -> Leftovers:
    """Every benchmark image (by tag, and untagged ones by the run label) and cache mount in the
    engine, grouped by run, each run with its `state`; only the named runs when `runs` is
    given."""
    tags: dict[str, list[str]] = {}
    for reference in engine.image_references(f"{IMAGE_REPOSITORY}/*"):
        tags.setdefault(run_of_tag(reference), []).append(reference)
    untagged: dict[str, list[str]] = {}
    for image in engine.labelled_images(RUN_LABEL):
        labels = (image.get("Config") or {}).get("Labels") or {}
        run_id = str(labels.get(RUN_LABEL) or "")
        if run_id and not image.get("RepoTags"):
            untagged.setdefault(run_id, []).append(str(image.get("Id") or ""))
    records: dict[str, list[dict[str, Any]]] = {}
    for record in owned_cache_records(engine.build_cache_records(), _ANY_RUN_CACHE):
        found = mount_id(record) or ""
        records.setdefault(run_of_mount(found) or found, []).append(record)
    wanted = set(runs)
    found_runs = [
        RunLeftovers(
            run_id,
            state(run_id),
            tuple(sorted(tags.get(run_id, ()))),
            tuple(sorted(untagged.get(run_id, ()))),
            tuple(sorted({mount_id(r) or "" for r in records.get(run_id, ())})),
            tuple(records.get(run_id, ())),
        )
        for run_id in sorted({*tags, *untagged, *records})
        if not wanted or run_id in wanted
    ]
    return Leftovers(tuple(found_runs))


def remove_leftovers(engine: EngineProtocol, leftovers: Leftovers) -> list[str]:
    """Remove what the runs whose process has ended left; what was removed, each named with
    its kind (`image ...`, `cache mount ...`). Nothing of any other run is touched."""
    removed: list[str] = []
    for run in leftovers.gone:
        images = _remove_images(engine, run.images, run.untagged)
        removed += [f"image {r}" if r in run.images else r for r in images]
        removed += _prune(engine, run.cache_records)
    return removed
