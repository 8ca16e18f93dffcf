# ruff: noqa: E501  (expected output: 100-column table lines with escaped quotes)
"""dockyard.render.image: `inv size`, `inv history` and `inv inspect-layers` as exact text on a
100-column console without colour, fed with analyses of the tests' synthetic archives
(tests/image_archives.py) and real captured `docker image history` rows (tests/data/history)."""

from __future__ import annotations

import io
import json

from rich.console import Console

from dockyard import render
from dockyard.image.analysis import analyse_archive
from dockyard.image.base import BaseInfo
from dockyard.image.gate import GateRules, evaluate_gate
from dockyard.image.history import History, mark_base_rows, parse_history_row
from dockyard.image.inspection import Inspection
from dockyard.image.size import Previous, SizeRow
from dockyard.image.targets import ImageTarget
from dockyard.render import image as render_image
from tests.image_archives import CORE, HISTORY, D, F, Image, history, layer_tar, oci_archive

APP = ImageTarget("example/app:1", "app", ("app",), True)
IMAGE_ID = "sha256:" + "a" * 64


def console() -> Console:
    return render.make_console(file=io.StringIO(), width=100, color_system=None)


def text(out: Console) -> list[str]:
    """What was printed, line by line, without the padding rich puts after short lines."""
    file = out.file
    assert isinstance(file, io.StringIO)
    return [line.rstrip() for line in file.getvalue().splitlines()]


def size_rows() -> list[SizeRow]:
    return [
        SizeRow(
            APP,
            True,
            IMAGE_ID,
            220791510,
            6,
            "2026-11-27T17:31:24.922486115Z",
            Previous(7, "sha256:old", 215000000, "2026-11-27T17:00:00+00:00"),
            300_000_000,
            "DOCKYARD_SIZE_BUDGETS (app)",
        ),
        SizeRow(
            ImageTarget("example/db:16", "db", ("db", "cache")),
            True,
            "sha256:" + "b" * 64,
            474307016,
            1,
            "2026-11-27T17:16:02Z",
            None,
            300_000_000,
            "--max-size",
        ),
        SizeRow(ImageTarget("example/worker:1", "worker", ("worker",), True), False),
    ]


def captured_history() -> History:
    lines = (HISTORY / "buildkit-args-cache-mount.raw.jsonl").read_text().splitlines()
    rows = [parse_history_row(json.loads(line)) for line in lines]
    base = BaseInfo(
        "dockyard-local/python:3.11-slim", "final stage of app/Dockerfile", ("sha256:x",), True
    )
    return History(APP, IMAGE_ID, tuple(mark_base_rows(rows, rows[-1:])), base)


def inspection(rules: GateRules, **base: object) -> Inspection:
    analysis = analyse_archive(
        io.BytesIO(oci_archive(CORE)), base_layer_ids=CORE.diff_ids[:2], top_n=3
    )
    info = BaseInfo(
        "example/base:1", "final stage of app/Dockerfile", tuple(CORE.diff_ids[:2]), True
    )
    gate = evaluate_gate(analysis, rules, image_size=20120)
    return Inspection(
        APP, IMAGE_ID, 20120, "2026-11-27T17:31:24Z", info, analysis, rules, "", tuple(gate), 0.25
    )


SIZE = """\
Images
┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ service / image  ┃        size ┃ layers ┃ created    ┃  change ┃ status          ┃
┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ app              │    220.8 MB │      6 │ 2026-11-27 │ +5.8 MB │ ok              │
│ example/app:1    │ 220791510 B │        │ 17:31      │   vs #7 │ budget 300.0 MB │
│ db, cache        │    474.3 MB │      1 │ 2026-11-27 │         │ OVER BUDGET     │
│ example/db:16    │ 474307016 B │        │ 17:16      │         │ budget 300.0 MB │
│ worker           │           - │      - │ -          │         │ not built       │
│ example/worker:1 │             │        │            │         │                 │
└──────────────────┴─────────────┴────────┴────────────┴─────────┴─────────────────┘
not built yet: worker (run `inv build-fast`)
"""


def test_size_table() -> None:
    out = console()
    render_image.print_sizes(out, size_rows())
    assert text(out) == SIZE.splitlines()


HISTORY_TABLE = """\
History of example/app:1 (newest first)
┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ created (UTC)    ┃     size ┃      ┃ instruction                                                 ┃
┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 2026-11-27 17:20 │      0 B │      │ CMD ["-c" "print(1)"]                                       │
│ 2026-11-27 17:20 │      0 B │      │ ENTRYPOINT ["python3"]                                      │
│ 2026-11-27 17:20 │      0 B │      │ HEALTHCHECK &{["CMD-SHELL" "python3 -c \\"print(1)\\""] "5s"… │
│ 2026-11-27 17:20 │      0 B │      │ EXPOSE map[8000/tcp:{}]                                     │
│ 2026-11-27 17:20 │      0 B │      │ USER nobody                                                 │
│ 2026-11-27 17:20 │      9 B │      │ RUN echo "$GREETING" | tee /srv/greeting.txt                │
│ 2026-11-27 17:20 │      0 B │      │ SHELL [/bin/bash -o pipefail -c]                            │
│ 2026-11-27 17:20 │     20 B │      │ RUN echo heredoc > /srv/heredoc.txt echo second line >> /s… │
│ 2026-11-27 17:20 │      4 B │      │ RUN echo one && echo two > /srv/two.txt                     │
│ 2026-11-27 17:20 │     10 B │      │ RUN echo exec-form > /srv/exec.txt                          │
│ 2026-11-27 17:20 │     28 B │      │ RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.… │
│ 2026-11-27 17:20 │     14 B │      │ COPY requirements.txt .                                     │
│ 2026-11-27 17:20 │      0 B │      │ WORKDIR /srv                                                │
│ 2026-11-27 17:20 │      0 B │      │ ENV PYTHONDONTWRITEBYTECODE=1                               │
│ 2026-11-27 17:20 │      0 B │      │ ARG EMPTY=                                                  │
│ 2026-11-27 17:20 │      0 B │      │ ARG GREETING=hello world                                    │
│ 2026-11-27 17:20 │      0 B │      │ ARG PIP_INDEX=https://pypi.example/simple                   │
│ 2026-11-27 17:14 │ 190.8 MB │ base │ Imported from -                                             │
└──────────────────┴──────────┴──────┴─────────────────────────────────────────────────────────────┘
base: dockyard-local/python:3.11-slim (final stage of app/Dockerfile)
"""


def test_history_table_one_line_per_instruction() -> None:
    out = console()
    render_image.print_history(out, captured_history())
    assert text(out) == HISTORY_TABLE.splitlines()


HISTORY_NO_TRUNC = """\
History of example/app:1 (newest first)
┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ created (UTC)    ┃     size ┃      ┃ instruction                                                 ┃
┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 2026-11-27 17:20 │      0 B │      │ CMD ["-c" "print(1)"]                                       │
│ 2026-11-27 17:20 │      0 B │      │ ENTRYPOINT ["python3"]                                      │
│ 2026-11-27 17:20 │      0 B │      │ HEALTHCHECK &{["CMD-SHELL" "python3 -c \\"print(1)\\""] "5s"  │
│                  │          │      │ "0s" "0s" "0s" '\\x00'}                                      │
│ 2026-11-27 17:20 │      0 B │      │ EXPOSE map[8000/tcp:{}]                                     │
│ 2026-11-27 17:20 │      0 B │      │ USER nobody                                                 │
│ 2026-11-27 17:20 │      9 B │      │ RUN echo "$GREETING" | tee /srv/greeting.txt                │
│ 2026-11-27 17:20 │      0 B │      │ SHELL [/bin/bash -o pipefail -c]                            │
│ 2026-11-27 17:20 │     20 B │      │ RUN echo heredoc > /srv/heredoc.txt                         │
│                  │          │      │ echo second line >> /srv/heredoc.txt                        │
│ 2026-11-27 17:20 │      4 B │      │ RUN echo one &&     echo two > /srv/two.txt                 │
│ 2026-11-27 17:20 │     10 B │      │ RUN echo exec-form > /srv/exec.txt                          │
│ 2026-11-27 17:20 │     28 B │      │ RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p          │
│                  │          │      │ /root/.cache/pip && ls /root/.cache/pip                     │
│ 2026-11-27 17:20 │     14 B │      │ COPY requirements.txt .                                     │
│ 2026-11-27 17:20 │      0 B │      │ WORKDIR /srv                                                │
│ 2026-11-27 17:20 │      0 B │      │ ENV PYTHONDONTWRITEBYTECODE=1                               │
│ 2026-11-27 17:20 │      0 B │      │ ARG EMPTY=                                                  │
│ 2026-11-27 17:20 │      0 B │      │ ARG GREETING=hello world                                    │
│ 2026-11-27 17:20 │      0 B │      │ ARG PIP_INDEX=https://pypi.example/simple                   │
│ 2026-11-27 17:14 │ 190.8 MB │ base │ Imported from -                                             │
└──────────────────┴──────────┴──────┴─────────────────────────────────────────────────────────────┘
base: dockyard-local/python:3.11-slim (final stage of app/Dockerfile)
"""


def test_history_table_no_trunc_keeps_whole_instructions() -> None:
    out = console()
    render_image.print_history(out, captured_history(), no_trunc=True)
    assert text(out) == HISTORY_NO_TRUNC.splitlines()


INSPECTION = """\
example/app:1 aaaaaaaaaaaa  20.1 kB in 5 layers, 5 files
read from docker save (oci archive) in 0.2s
base: example/base:1 (final stage of app/Dockerfile): layers 0-1
Layers (bottom first)
┏━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃      # ┃   size ┃   total ┃ files +/~/- ┃ wasted ┃ instruction                                   ┃
┡━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 0 base │ 6.5 kB │  6.5 kB │          +4 │ 6.5 kB │ ADD file:4b03b5f551e3fbdf47ec609712007 in /   │
│ 1 base │ 1.9 kB │  8.4 kB │       +1 ~1 │  700 B │ RUN apt-get install -y tool                   │
│      2 │ 4.2 kB │ 12.6 kB │          +5 │ 4.1 kB │ RUN make data                                 │
│      3 │ 7.5 kB │ 20.1 kB │       ~2 -4 │ 2.5 kB │ RUN make again                                │
│      4 │   10 B │ 20.1 kB │       +1 -2 │      - │ RUN rm /app/data.bin                          │
└────────┴────────┴─────────┴─────────────┴────────┴───────────────────────────────────────────────┘
Largest files per layer (top 3)
┏━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃   size ┃ path               ┃
┡━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩
│ 0 │ 5.0 kB │ /usr/lib/libbig.so │
│   │ 1.0 kB │ /etc/base.conf     │
│   │  300 B │ /usr/share/doc/a   │
├───┼────────┼────────────────────┤
│ 1 │ 1.2 kB │ /etc/base.conf     │
│   │  700 B │ /opt/tool          │
├───┼────────┼────────────────────┤
│ 2 │ 4.0 kB │ /app/data.bin      │
│   │  100 B │ /app/keep.txt      │
│   │   60 B │ /app/cache/y       │
├───┼────────┼────────────────────┤
│ 3 │ 5.0 kB │ /usr/lib/libbig.so │
│   │ 2.5 kB │ /app/data.bin      │
├───┼────────┼────────────────────┤
│ 4 │   10 B │ /opt/new           │
└───┴────────┴────────────────────┘
Most wasteful paths
┏━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ your waste ┃ all waste ┃ copies ┃ layers ┃ at the end ┃ path          ┃
┡━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│     6.5 kB │    6.5 kB │      2 │ 2,3    │ deleted    │ /app/data.bin │
│       60 B │      60 B │      1 │ 2      │ deleted    │ /app/cache/y  │
│       50 B │      50 B │      1 │ 2      │ deleted    │ /app/cache/x  │
└────────────┴───────────┴────────┴────────┴────────────┴───────────────┘
Waste and efficiency
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━┓
┃                   ┃  stored ┃ visible ┃  wasted ┃ efficiency ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━┩
│ your layers (2-4) │ 11.7 kB │  5.1 kB │  6.6 kB │      43.6% │
│ whole image (0-4) │ 20.1 kB │  6.3 kB │ 13.8 kB │      31.4% │
└───────────────────┴─────────┴─────────┴─────────┴────────────┘
base files your layers overwrite or delete: 6.2 kB (whole-image waste, not yours: deleting a base
file never makes an image smaller)
gate: FAIL
  FAIL  user efficiency 43.6% < minimum 90.0%
  FAIL  user wasted bytes 6.6 kB (6610 B) > limit 5.0 kB
  PASS  image size 20.1 kB (20120 B) <= limit 30.0 kB
"""


def test_inspection() -> None:
    out = console()
    render_image.print_inspection(out, inspection(GateRules(0.9, 5000, 30000)))
    assert text(out) == INSPECTION.splitlines()


def clean_inspection(notes: tuple[str, ...] = ()) -> Inspection:
    """An image with nothing wasted, no base known, no gate rules."""
    image = Image(
        [layer_tar(D("app"), F("app/a.py", 120)), layer_tar(D("app"), F("app/[db].txt", 5))],
        history("COPY a.py /app/", "RUN echo [db] > /app/[db].txt"),
    )
    analysis = analyse_archive(io.BytesIO(oci_archive(image)), top_n=0)
    info = BaseInfo(None, "", note="base image unknown")
    return Inspection(
        ImageTarget("example/[db]:1"),
        IMAGE_ID,
        125,
        "",
        info,
        analysis,
        GateRules(),
        "",
        (),
        1.5,
        notes,
    )


def test_inspection_of_a_clean_image_without_base_or_rules() -> None:
    out = console()
    note = "base image unknown: every layer counted as yours (name the base with --base IMAGE)"
    render_image.print_inspection(out, clean_inspection((note,)))
    assert text(out) == [
        "example/[db]:1 aaaaaaaaaaaa  125 B in 2 layers, 2 files",
        "read from docker save (oci archive) in 1.5s",
        "note: base image unknown: every layer counted as yours (name the base with --base IMAGE)",
        "Layers (bottom first)",
        "┏━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ # ┃  size ┃ total ┃ files +/~/- ┃ wasted ┃ instruction                                           ┃",
        "┡━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ 0 │ 120 B │ 120 B │          +1 │      - │ COPY a.py /app/                                       │",
        "│ 1 │   5 B │ 125 B │          +1 │      - │ RUN echo [db] > /app/[db].txt                         │",
        "└───┴───────┴───────┴─────────────┴────────┴───────────────────────────────────────────────────────┘",
        "no path is stored more than once or deleted after it was written",
        "Waste and efficiency",
        "┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━┓",
        "┃                   ┃ stored ┃ visible ┃ wasted ┃ efficiency ┃",
        "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━┩",
        "│ your layers (0-1) │  125 B │   125 B │    0 B │     100.0% │",
        "│ whole image (0-1) │  125 B │   125 B │    0 B │     100.0% │",
        "└───────────────────┴────────┴─────────┴────────┴────────────┘",
        "gate: no rules set",
    ]


def test_history_without_a_known_base() -> None:
    history_ = captured_history()
    unknown = History(
        history_.target,
        IMAGE_ID,
        history_.rows[-2:],
        BaseInfo(None, "", note="base image unknown"),
    )
    out = console()
    render_image.print_history(out, unknown)
    assert text(out)[-1] == (
        "base image unknown: its rows are not marked (name it with --base IMAGE)"
    )


def test_size_of_a_project_without_images() -> None:
    out = console()
    render_image.print_sizes(out, [])
    assert text(out) == ["the project has no images"]


def test_output_survives_a_cp1252_console() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252", errors="strict", newline="\n")
    out = render.make_console(file=stream, width=100, color_system=None)
    render_image.print_inspection(out, inspection(GateRules(0.9, 5000, 30000)))
    render_image.print_sizes(out, size_rows())
    render_image.print_history(out, captured_history())
    stream.flush()
    shown = raw.getvalue().decode("cp1252")
    assert "| your layers (2-4) | 11.7 kB |" in shown  # ASCII table boxes
    assert "FAIL  user efficiency 43.6% < minimum 90.0%" in shown
