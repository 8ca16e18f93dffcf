"""dockyard.image.history on real captured `docker image history` rows (exact and human sizes),
base rows marked."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.image.history import HistoryRow, image_history, mark_base_rows, parse_history_row
from dockyard.image.targets import resolve_target
from tests.image_archives import read_rows
from tests.unit.image.project import app_project


def test_history_rows_from_real_captures_exact_and_human() -> None:
    raw = [parse_history_row(row) for row in read_rows("buildkit-args-cache-mount.raw.jsonl")]
    human = [parse_history_row(row) for row in read_rows("buildkit-args-cache-mount.jsonl")]
    assert len(raw) == len(human) == 18
    assert [row.size for row in raw] == [0] * 5 + [9, 0, 20, 4, 10, 28, 14] + [0] * 5 + [190841962]
    for exact, shown in zip(raw, human, strict=True):
        assert exact.created == shown.created
        assert exact.instruction == shown.instruction
        assert abs(exact.size - shown.size) <= max(exact.size // 100, 0)
    assert raw[5].instruction == 'RUN echo "$GREETING" | tee /srv/greeting.txt'
    assert raw[5].created_by.startswith("RUN |3 PIP_INDEX=https://pypi.example/simple")
    assert raw[0].id.startswith("sha256:") and raw[1].id == "<missing>"
    assert raw[-1].comment == "Imported from -" and raw[-1].instruction == ""


def test_mark_base_rows() -> None:
    rows = [parse_history_row(row) for row in read_rows("legacy-builder.jsonl")]
    base = rows[-1:]
    marked = mark_base_rows(rows, base)
    assert [row.base for row in marked] == [False] * (len(rows) - 1) + [True]
    other = [HistoryRow("2020-01-01T00:00:00Z", 1, "", "ADD x /", "", "<missing>")]
    assert not any(row.base for row in mark_base_rows(rows, other))
    assert not any(row.base for row in mark_base_rows(rows[:1], rows))


def test_image_history_marks_the_base_rows(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rows = read_rows("buildkit-args-cache-mount.raw.jsonl")
    engine.histories = {"example/app:1": rows, "example/base:1": rows[-1:]}
    result = image_history(engine, resolve_target(engine, "app"))
    assert [row.base for row in result.rows].count(True) == 1 and result.rows[-1].base
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rows"][5]["size"] == 9 and data["base"]["known"] is True
