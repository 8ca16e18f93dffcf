"""The build cache's listing from `docker buildx du`, parsed from real captures of both stacks
(tests/data/buildx-du/capture.py): buildx 0.13's `--verbose` text, buildx 0.29's `--verbose`
and `--format json`, each checked against `docker system df -v` of the same records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.buildcache import DU_JSON, listing, parse_du_json, parse_du_verbose
from dockyard.engine.stackinfo import version_tuple

DATA = Path(__file__).resolve().parents[1] / "data" / "buildx-du"
STACKS = ("debian13", "sid")
# Size is left out: buildx and system df round the human size differently ("29.93MB", "29.9MB").
KEYS = ("ID", "Parent", "CacheType", "Description", "CreatedAt", "Shared", "UsageCount")


def capture(stack: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{stack}.json").read_text(encoding="utf-8")))


def fields(records: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["ID"]: {k: str(r.get(k, "")) for k in KEYS} for r in records}


@pytest.mark.parametrize("stack", STACKS)
def test_verbose_listing_is_what_system_df_says(stack: str) -> None:
    data = capture(stack)
    parsed = parse_du_verbose(data["verbose"])
    assert fields(parsed) == fields(data["system_df"])
    assert len(parsed) == len(data["system_df"]) >= 6


def test_json_listing_is_what_system_df_says() -> None:
    data = capture("sid")
    assert version_tuple(data["buildx"]) >= DU_JSON and data["json"]
    assert fields(parse_du_json(data["json"])) == fields(data["system_df"])


def test_old_buildx_has_no_json_listing() -> None:
    data = capture("debian13")
    assert version_tuple(data["buildx"]) < DU_JSON and data["json"] is None


@pytest.mark.parametrize("stack", STACKS)
def test_the_summary_after_the_last_record_is_no_record_field(stack: str) -> None:
    data = capture(stack)
    assert "\nTotal:" in data["verbose_tail"]
    parsed = parse_du_verbose(data["verbose_tail"])
    assert [r["ID"] for r in parsed] == data["tail_ids"]
    assert {r["Shared"] for r in parsed} <= {"true", "false"}  # not the summary's "158.6MB"


@pytest.mark.parametrize("stack", STACKS)
def test_a_heredoc_description_keeps_its_lines(stack: str) -> None:
    data = capture(stack)
    (heredoc,) = [
        r for r in parse_du_verbose(data["verbose"]) if "\n\necho two: three" in r["Description"]
    ]
    assert heredoc["CacheType"] == "regular" and heredoc["Parent"]


@pytest.mark.parametrize("stack", STACKS)
def test_parents_are_joined_as_system_df_joins_them(stack: str) -> None:
    parsed = parse_du_verbose(capture(stack)["verbose"])
    with_parent = [r for r in parsed if r["Parent"]]
    assert with_parent and all(len(r["Parent"].split(", ")[0]) == 25 for r in with_parent)
    assert all(r["Parent"] == "" for r in parsed if r["CacheType"] == "source.local")


@pytest.mark.parametrize("stack", STACKS)
def test_the_listing_is_chosen_by_the_buildx_version(stack: str) -> None:
    data = capture(stack)
    args, parse = listing(version_tuple(data["buildx"]))
    assert args[:2] == ("buildx", "du")
    text = data["json"] if "json" in args else data["verbose"]
    assert fields(parse(text)) == fields(data["system_df"])


def test_without_buildx_system_df_is_the_listing() -> None:
    args, parse = listing(())
    assert args[:2] == ("system", "df")
    records = capture("sid")["system_df"]
    assert parse(json.dumps(records)) == records
    assert parse("null") == [] and parse("") == []
