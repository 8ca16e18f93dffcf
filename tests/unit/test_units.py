"""units: sizes, ratios and durations, read and written one way each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.units import (
    format_change,
    format_percent,
    format_seconds,
    format_size,
    parse_ratio,
    parse_size,
)

HISTORY = Path(__file__).resolve().parents[1] / "data" / "history"


def read_rows(name: str) -> list[dict[str, str]]:
    lines = (HISTORY / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_format_size() -> None:
    assert format_size(None) == "-"
    assert format_size(0) == "0 B"
    assert format_size(999) == "999 B"
    assert format_size(1000) == "1.0 kB"
    assert format_size(190_841_962) == "190.8 MB"
    assert format_size(1_234_567_890) == "1.2 GB"
    assert format_size(-2_500) == "-2.5 kB"


def test_format_size_reads_back_within_its_rounding() -> None:
    for size in (1, 999, 1_000, 12_345, 190_841_962, 5_000_000_000):
        text = format_size(size).replace(" ", "")
        assert abs(parse_size(text) - size) <= max(size // 1000 * 1, 1) * 50


def test_format_change() -> None:
    assert format_change(None) == ""
    assert format_change(0) == "±0 B"
    assert format_change(1_200) == "+1.2 kB"
    assert format_change(-3_000_000) == "-3.0 MB"


def test_format_percent_and_seconds() -> None:
    assert format_percent(None) == "-"
    assert format_percent(0.5) == "50%"
    assert format_percent(0.564, digits=1) == "56.4%"
    assert format_seconds(None) == "-"
    assert format_seconds(4.76) == "4.8s"
    assert format_seconds(123.5) == "2m03.5s"
    assert format_seconds(0.214, precise=True) == "0.21s"
    assert format_seconds(12.34, precise=True) == "12.3s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("11B", 11),
        ("100kB", 100_000),
        ("12.3kB", 12_300),
        ("1.23MB", 1_230_000),
        ("191MB", 191_000_000),
        ("2GB", 2_000_000_000),
        ("1e+03kB", 1_000_000),
        ("100000", 100_000),
        ("1.5GiB", 1_610_612_736),
        ("20 MB", 20_000_000),
        ("512KiB", 524_288),
        ("3k", 3000),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "N/A", "MB", "1.2.3MB", "-5B", "5iB"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_parse_size_reads_every_real_history_size() -> None:
    for name in ("buildkit-args-cache-mount.jsonl", "legacy-builder.jsonl"):
        for row in read_rows(name):
            assert parse_size(row["Size"]) >= 0


def test_parse_ratio() -> None:
    assert parse_ratio("90%") == pytest.approx(0.9)
    assert parse_ratio(" 0.75 ") == 0.75
    assert parse_ratio("100 %") == 1.0
    for bad in ("x", "150%", "-0.1", "nan"):
        with pytest.raises(ValueError):
            parse_ratio(bad)
