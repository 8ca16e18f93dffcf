"""What the benchmark owns in the engine, found in real `docker system df -v` rows and image
listings, grouped by run, and removed only for runs that have ended."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.bench.leftovers import (
    find_leftovers,
    mount_id,
    owned_cache_records,
    remove_leftovers,
    run_of_mount,
    run_of_tag,
)
from dockyard.bench.owner import RunState
from dockyard.settings import load_settings
from tests.fake_engine import FakeEngine
from tests.unit.bench.helpers import DATA


def test_owned_cache_records_from_real_rows() -> None:
    rows = json.loads((DATA / "buildcache-records.json").read_text(encoding="utf-8"))
    owned = owned_cache_records(rows, "dockyard-bench-v2exp17036-")
    assert [r["Description"].rsplit(" ", 1)[-1] for r in owned] == [
        '"/dockyard-bench-v2exp17036-pip"',
        '"/dockyard-bench-v2exp17036-uv"',
        '"/dockyard-bench-v2exp17036-venv"',
    ]
    assert all(r["CacheType"] == "exec.cachemount" for r in owned)
    assert owned_cache_records(rows, "dockyard-bench-nothing-") == []
    # a mount without id (`//root/.cache/pip`) never matches a benchmark prefix
    assert owned_cache_records(rows, "root") == []


FIRST = "20261201-115330-c2ef8667-23943-1103"  # --keep, no-change: one image, two tags
SECOND = "20261201-115359-c2ef8667-26963-bb51"  # --keep, code-edit: a tagged and an untagged image


def captured_engine(tmp_path: Path) -> FakeEngine:
    """The engine as it was after the two captured runs, plus an older dockyard's tag."""
    images = json.loads((DATA / "labelled-images.json").read_text(encoding="utf-8"))
    references = (DATA / "bench-references.txt").read_text(encoding="utf-8").split()
    return FakeEngine(
        load_settings(tmp_path, environ={}),
        images={image["Id"]: image for image in images},
        cache_records=json.loads(
            (DATA / "buildcache-records-runs.json").read_text(encoding="utf-8")
        ),
        references=[*references, "dockyard-bench/naive:20261127-180000-abcd", "other/image:1"],
    )


def test_leftovers_are_grouped_by_run_and_only_ended_runs_are_removed(tmp_path: Path) -> None:
    engine = captured_engine(tmp_path)
    states: dict[str, RunState] = {FIRST: "running", SECOND: "gone"}
    leftovers = find_leftovers(engine, state=lambda run: states.get(run, "unknown"))
    assert [(r.run_id, r.state) for r in leftovers.runs] == [
        ("20261127-180000-abcd", "unknown"),  # an older dockyard's run id: no owner in it
        (FIRST, "running"),
        (SECOND, "gone"),
    ]
    first = leftovers.runs[1]
    assert first.images == (
        f"dockyard-bench/optimized:{FIRST}",
        f"dockyard-bench/optimized:{FIRST}-engine",
    )
    assert first.untagged == ()  # its one image has both tags
    assert first.cache_mounts == tuple(
        f"dockyard-bench-{FIRST}-optimized-{name}" for name in ("pip", "uv", "venv")
    )
    assert leftovers.describe() == [  # what --clean removes: the ended run's things only
        f"image dockyard-bench/optimized:{SECOND}",
        "image 1fa5967e6fbb (untagged)",
        f"cache mount dockyard-bench-{SECOND}-optimized-pip",
        f"cache mount dockyard-bench-{SECOND}-optimized-uv",
        f"cache mount dockyard-bench-{SECOND}-optimized-venv",
    ]
    assert [r.run_id for r in leftovers.left_alone] == ["20261127-180000-abcd", FIRST]
    assert "older dockyard" in leftovers.left_alone[0].why

    removed = remove_leftovers(engine, leftovers)
    untagged = next(i["Id"] for i in engine.images.values() if not i["RepoTags"])
    assert engine.removed == [f"dockyard-bench/optimized:{SECOND}", untagged]
    second_records = [
        r["ID"] for r in engine.cache_records if f"dockyard-bench-{SECOND}-" in r["Description"]
    ]
    assert sorted(engine.pruned) == sorted(second_records) and len(second_records) == 3
    assert removed[:2] == [f"image dockyard-bench/optimized:{SECOND}", "image 1fa5967e6fbb"]
    assert sorted(removed[2:]) == [
        f"cache mount dockyard-bench-{SECOND}-optimized-{name}" for name in ("pip", "uv", "venv")
    ]


def test_clean_can_be_limited_to_named_runs(tmp_path: Path) -> None:
    engine = captured_engine(tmp_path)
    leftovers = find_leftovers(
        engine, [FIRST, "20261201-000000-00000000-1-0000"], state=lambda _: "gone"
    )
    assert [r.run_id for r in leftovers.runs] == [FIRST]
    remove_leftovers(engine, leftovers)
    assert engine.removed == [
        f"dockyard-bench/optimized:{FIRST}",
        f"dockyard-bench/optimized:{FIRST}-engine",
    ]
    assert len(engine.pruned) == 3


def test_the_run_in_each_name() -> None:
    assert run_of_tag(f"dockyard-bench/naive:{FIRST}") == FIRST
    assert run_of_tag(f"dockyard-bench/naive:{FIRST}-engine") == FIRST
    assert run_of_tag("dockyard-bench/naive:20261127-180000-abcd-engine") == "20261127-180000-abcd"
    assert run_of_tag("dockyard-bench/naive:mine") == "mine"
    assert run_of_mount(f"dockyard-bench-{FIRST}-optimized-r2-uv") == FIRST
    assert run_of_mount("dockyard-bench-20261127-184820-ad54-optimized-uv") == (
        "20261127-184820-ad54"
    )
    assert run_of_mount("dockyard-bench-v2exp17036-pip") is None
    assert run_of_mount(f"dockyard-bench-{FIRST}") is None


def test_a_mount_id_is_the_one_at_the_end_of_the_description() -> None:
    # the command may quote the same words; listing, matching and removing all read the last
    record = {
        "ID": "r1",
        "Description": 'cached mount /c from exec /bin/sh -c echo with id "/dockyard-bench-x" '
        'with id "/dockyard-bench-run-uv"',
    }
    assert mount_id(record) == "dockyard-bench-run-uv"
    assert mount_id({"Description": "mount / from exec /bin/sh -c true"}) is None
    assert owned_cache_records([record], "dockyard-bench-x") == []
