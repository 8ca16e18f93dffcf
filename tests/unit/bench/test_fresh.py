"""Telling one build's build-cache records apart (the team-cache scenario's fresh machine), on
real listings of both stacks (tests/data/buildcache, made by its capture.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.bench.fresh import (
    mount_records,
    not_fresh,
    record_matches,
    records_made,
    shared_step,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "buildcache"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


def new_layers(data: dict[str, Any]) -> set[str]:
    before = set(data["before_ids"])
    return {r["ID"] for r in data["after"] if r["ID"] not in before and r["CacheType"] == "regular"}


@pytest.mark.parametrize("stack", ["debian13", "sid"])
def test_one_build_gets_every_layer_record_it_made_children_first(stack: str) -> None:
    data = load(f"{stack}-one")
    made = records_made(set(data["before_ids"]), data["after"], data["executed_steps"][0])
    assert made.found and not made.ambiguous
    # the six steps after FROM, each one record; no cache mount, no context record, no old one
    assert set(made.ids) == new_layers(data) and len(made.ids) == 6
    by_id = {r["ID"]: r for r in data["after"]}
    for position, record_id in enumerate(made.ids):
        parent = by_id[record_id].get("Parent")
        if parent in made.ids:  # a child is removed before the record it hangs from
            assert made.ids.index(parent) > position
    # the groupadd RUN's vertex name has ${APP_UID} filled in, its record does not: found by
    # the tree it roots, not by name
    assert made.matched_steps == 5


@pytest.mark.parametrize("stack", ["debian13", "sid"])
def test_two_builds_of_the_same_steps_at_once_cannot_be_told_apart(stack: str) -> None:
    data = load(f"{stack}-pair")
    assert len(new_layers(data)) == 12
    for steps in data["executed_steps"]:
        made = records_made(set(data["before_ids"]), data["after"], steps)
        assert not made.found and made.ids == ()
        assert "[runtime 4/7] COPY requirements.txt /tmp/deps/" in made.ambiguous


def test_nothing_new_is_nothing_made() -> None:
    data = load("debian13-one")
    every = {r["ID"] for r in data["after"]}
    made = records_made(every, data["after"], data["executed_steps"][0])
    assert made.ids == () and not made.found and not made.ambiguous


def test_old_records_of_the_same_steps_are_not_the_builds() -> None:
    # The same listing taken as if the build had not run: its records count as "before".
    data = load("sid-one")
    made = records_made(set(), data["after"], data["executed_steps"][0])
    assert set(made.ids) >= new_layers(data)
    old = set(data["before_ids"])
    made_now = records_made(old, data["after"], data["executed_steps"][0])
    assert not set(made_now.ids) & old


def test_a_run_record_matches_its_vertex_up_to_whitespace_and_a_copy_by_name() -> None:
    data = load("debian13-one")
    steps = data["executed_steps"][0]
    install = next(s for s in steps if "uv pip sync" in s)
    records = {r["Description"]: r for r in data["after"] if r["ID"] in new_layers(data)}
    run = next(d for d in records if d.startswith("mount / from exec") and "uv pip sync" in d)
    assert record_matches(run, install)
    assert record_matches("[runtime 4/7] COPY requirements.txt /tmp/deps/", steps[7])
    assert not record_matches(run, "[runtime 4/7] COPY requirements.txt /tmp/deps/")
    assert not record_matches("mount / from exec /bin/sh -c ", install)


def test_the_cache_mounts_of_one_cache_id() -> None:
    data = load("debian13-one")
    cache_id = next(
        s.split("id=")[1].split(",")[0].removesuffix("-uv")
        for s in data["executed_steps"][0]
        if "id=" in s
    )
    ids = mount_records(data["after"], cache_id)
    assert len(ids) == 2  # its -uv and -venv mounts, nothing else
    assert mount_records(data["after"], cache_id[:-1]) == []  # a prefix of the id is not it


BACKEND = Path(__file__).resolve().parents[3] / "backend"


@pytest.mark.parametrize(
    ("strategy", "why"),
    [
        ("naive", "`WORKDIR /app` (stage 0) runs before `ARG CACHE_ID`"),
        ("pip-cache", "`RUN groupadd --system"),  # its runtime stage has no ARG CACHE_ID
        ("optimized", ""),  # ARG CACHE_ID first, then a RUN: every step's key is its own
    ],
)
def test_which_dockerfiles_can_have_a_cache_of_their_own(strategy: str, why: str) -> None:
    text = (BACKEND / f"Dockerfile.{strategy}").read_text(encoding="utf-8")
    found = shared_step(text, {"PYTHON_IMAGE": "python:3.11-slim"})
    assert found.startswith(why) if why else found == ""
    if strategy == "pip-cache":
        assert found.endswith("(stage runtime) runs before `ARG CACHE_ID`")


def test_a_stage_copying_first_from_a_stage_of_its_own_keys_is_its_own() -> None:
    text = (
        "FROM python:3.11-slim AS deps\nARG CACHE_ID\nRUN pip install x\n"
        "FROM deps AS more\nCOPY a b\n"
        "FROM python:3.11-slim\nCOPY --from=more /x /x\nRUN true\n"
    )
    assert shared_step(text, {}) == ""
    assert shared_step(text.replace("ARG CACHE_ID\n", ""), {}).startswith("`RUN pip install x`")


def test_why_a_build_cannot_be_made_fresh() -> None:
    one, pair = load("sid-one"), load("sid-pair")
    made = records_made(set(one["before_ids"]), one["after"], one["executed_steps"][0])
    assert not_fresh(0, made) == ""
    assert not_fresh(3, made).startswith("3 of its steps came from the local cache")
    look_alike = records_made(set(pair["before_ids"]), pair["after"], pair["executed_steps"][0])
    assert not_fresh(0, look_alike).startswith("another build of the same steps ran meanwhile")
    nothing = records_made({r["ID"] for r in one["after"]}, one["after"], [])
    assert not_fresh(0, nothing) == "its export build left no build-cache record to remove"
