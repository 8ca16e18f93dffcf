"""Build renderers against real captured BuildKit streams, with exact text."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from dockyard import render
from dockyard.build import BuildOutcome, ServicePlan, ServiceResult
from dockyard.compose import BuildSpec
from dockyard.ledger import ServiceBuild
from dockyard.misses import explain_misses, records_from_report
from dockyard.progress import RawJsonStream, reports_from_stream
from dockyard.render import build as render_build

DATA = Path(__file__).resolve().parents[1] / "data" / "rawjson"


def console() -> Console:
    return render.make_console(file=io.StringIO(), width=100, color_system=None)


def text_of(con: Console) -> str:
    value = con.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in value.splitlines())


def outcome_from(capture: str) -> BuildOutcome:
    returncode = int((DATA / f"{capture}.rc").read_text())
    reports = reports_from_stream((DATA / f"{capture}.out").read_bytes(), returncode=returncode)
    results = []
    for service, report in reports.items():
        plan = ServicePlan(service, f"demo/{service}:latest", BuildSpec("/ctx"), [])
        previous = ServiceBuild(
            service=service,
            status="ok",
            seconds=1.5,
            steps_total=7,
            steps_cached=0,
            cache_ratio=0.0,
            image_size=200_000_000,
            steps=[{"stage": "runtime", "instruction": "COPY app ./app", "cached": False}],
        )
        reasons = (
            {"k": "`COPY app ./app` re-ran because `app/main.py` changed (+1 line)"}
            if service == "backend"
            else {}
        )
        results.append(
            ServiceResult(
                plan,
                report,
                image_id="sha256:x",
                image_size=201_500_000,
                previous=previous,
                reasons=reasons,
            )
        )
    return BuildOutcome(results, 0.9, "ok" if returncode == 0 else "failed")


EXPECTED_CODE_EDIT = """\
Build summary
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┓
┃ service / image     ┃  time ┃   cached ┃ slowest step             ┃     size ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━┩
│ backend             │  0.3s │  5/7 71% │ 0.3s RUN python3 -c "im… │ 201.5 MB │
│ demo/backend:latest │ -1.2s │          │                          │  +1.5 MB │
│ worker              │  0.0s │ 2/2 100% │ -                        │ 201.5 MB │
│ demo/worker:latest  │ -1.5s │          │                          │  +1.5 MB │
└─────────────────────┴───────┴──────────┴──────────────────────────┴──────────┘
backend: where the time went
deps 2/4 WORKDIR /deps                        ⚡ cached
runtime 2/5 WORKDIR /app                      ⚡ cached
deps 3/4 COPY requirements.txt ./             ⚡ cached
deps 4/4 RUN echo "token 1795799990525" &...  ⚡ cached
runtime 3/5 COPY --from=deps /deps/requir...  ⚡ cached
runtime 4/5 COPY app ./app                    █                             0.0s
runtime 5/5 RUN python3 -c "import pathli...  ████████████████████████      0.3s
worker: where the time went
2/3 COPY worker.py /w/                        ⚡ cached
3/3 RUN python3 /w/worker.py && echo "wor...  ⚡ cached
why steps ran instead of coming from cache:
  backend `COPY app ./app` re-ran because `app/main.py` changed (+1 line)"""


def test_summary_bars_and_reasons_exact_text() -> None:
    con = console()
    render_build.print_build(con, outcome_from("compose_code_edit"))
    assert text_of(con) == EXPECTED_CODE_EDIT


def first_build(capture: str) -> BuildOutcome:
    """A build with nothing in the ledger before it; reasons as build-fast makes them."""
    reports = reports_from_stream((DATA / f"{capture}.out").read_bytes(), returncode=0)
    results = []
    for service, report in reports.items():
        plan = ServicePlan(service, f"demo/{service}:latest", BuildSpec("/ctx"), [])
        reasons = explain_misses(records_from_report(report), None)
        results.append(ServiceResult(plan, report, previous=None, reasons=reasons))
    return BuildOutcome(results, 2.0, "ok")


def test_a_first_build_says_once_per_service_that_there_is_nothing_to_compare_with() -> None:
    outcome = first_build("compose_cold")
    con = console()
    render_build.print_reasons(con, outcome)
    assert text_of(con) == (
        "why steps ran instead of coming from cache:\n"
        "  backend 5 steps ran: no earlier build to compare with\n"
        "  worker 2 steps ran: no earlier build to compare with"
    )
    # The JSON keeps a reason per step, and says it once for the service too.
    backend = outcome.services[0].to_dict()
    assert backend["reasons_note"] == "no earlier build to compare with"
    assert len(backend["reasons"]) == 5
    assert all(
        why.endswith("ran: no earlier build to compare with") for why in backend["reasons"].values()
    )


EXPECTED_PLAIN_FAIL = """\
backend deps 1/4 FROM docker.io/dockyard-local/python:3.11-slim  0.0s
worker deps 1/4 FROM docker.io/dockyard-local/python:3.11-slim  0.0s
worker 2/3 COPY worker.py /w/  CACHED
worker 3/3 RUN python3 /w/worker.py && echo "worker 1795799990525"  CACHED
backend runtime 2/6 WORKDIR /app  CACHED
backend deps 2/4 WORKDIR /deps  CACHED
backend deps 3/4 COPY requirements.txt ./  CACHED
backend deps 4/4 RUN echo "token 1795799990525" && for i in 1 2 3; do echo ...  CACHED
backend runtime 3/6 COPY --from=deps /deps/requirements.txt ./  CACHED
backend runtime 4/6 COPY app ./app  CACHED
backend runtime 5/6 RUN python3 -c "import pathlib; print('files:', sorted(...  CACHED
backend runtime 6/6 RUN echo "token 1795799990525" && for i in $(seq 1 40);...  ERROR"""


def test_plain_events_one_line_per_finished_step() -> None:
    """No TTY: the stream fed line by line gives one line per step, revisions not repeated."""
    con = console()
    stream = RawJsonStream(["backend", "worker"])
    printed: set[str] = set()
    for line in (DATA / "compose_fail.out").read_bytes().splitlines(keepends=True):
        render_build.plain_build_events(con, stream.feed(line), printed)
    render_build.plain_build_events(con, stream.close(), printed)
    assert text_of(con) == EXPECTED_PLAIN_FAIL


def test_live_table_mid_stream() -> None:
    data = (DATA / "compose_cold.out").read_bytes()
    stream = RawJsonStream(["backend", "worker"])
    stream.feed(data[: len(data) // 2])
    reports = [stream.report(s) for s in ("backend", "worker")]
    now = max(s.started for r in reports for s in r.steps if s.started)
    con = console()
    con.print(render_build.build_progress_table(reports, now))
    assert text_of(con) == (
        "service  steps  cached  elapsed  running step\n"
        "backend    1/8       0     0.0s  load build context\n"
        "worker     1/3       0        -  waiting"
    )


def test_cp1252_console_gets_ascii_symbols_and_never_raises() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252", newline="\n")
    con = render.make_console(file=render.safe_stream(stream), width=100, color_system=None)
    render_build.print_build(con, outcome_from("compose_encoding"))
    con.print("a character outside cp1252: \u2713 \u2192")
    stream.flush()
    text = raw.getvalue().decode("cp1252")
    assert "* cached" in text  # ASCII symbol instead of the lightning bolt
    assert "+---" in text or "|" in text  # rich's ASCII table box
    assert "a character outside cp1252: ? ?" in text
