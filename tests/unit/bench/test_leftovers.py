"""What the benchmark owns in the engine, found in real `docker system df -v` rows, and removed."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.bench.leftovers import (
    find_leftovers,
    mount_id,
    owned_cache_records,
    remove_leftovers,
)
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


def test_leftovers_are_the_benchmarks_own_images_and_cache_mounts(tmp_path: Path) -> None:
    engine = FakeEngine(
        load_settings(tmp_path, environ={}),
        cache_records=json.loads((DATA / "buildcache-records.json").read_text(encoding="utf-8")),
        references=["dockyard-bench/naive:20261127-180000-abcd", "other/image:1"],
    )
    leftovers = find_leftovers(engine)
    assert leftovers.describe() == [
        "image dockyard-bench/naive:20261127-180000-abcd",
        "cache mount dockyard-bench-v1exp24906-pip",
        "cache mount dockyard-bench-v2exp17036-pip",
        "cache mount dockyard-bench-v2exp17036-uv",
        "cache mount dockyard-bench-v2exp17036-venv",
    ]
    removed = remove_leftovers(engine, leftovers)
    assert engine.removed == ["dockyard-bench/naive:20261127-180000-abcd"]
    assert len(engine.pruned) == 4  # by record id; `dockyard-uv`, `bh-cold1-uv` stay
    assert removed[0] == "image dockyard-bench/naive:20261127-180000-abcd"
    assert sorted(removed[1:]) == [
        "cache mount dockyard-bench-v1exp24906-pip",
        "cache mount dockyard-bench-v2exp17036-pip",
        "cache mount dockyard-bench-v2exp17036-uv",
        "cache mount dockyard-bench-v2exp17036-venv",
    ]


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
