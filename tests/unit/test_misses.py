"""dockyard.misses: why each step re-ran, on real captured builds."""

from __future__ import annotations

from pathlib import Path

from dockyard.fingerprint import ContextFingerprint, FileEntry
from dockyard.misses import (
    StepRecord,
    copy_sources,
    explain_misses,
    records_from_report,
    step_key,
)
from dockyard.progress import reports_from_stream

RAWJSON = Path(__file__).resolve().parent.parent / "data" / "rawjson"


# -- reasons ---------------------------------------------------------------------------------


def fingerprint(files: dict[str, tuple[str, int | None]]) -> ContextFingerprint:
    entries = {
        path: FileEntry(size=len(sha), mtime_ns=0, sha256=sha, lines=lines)
        for path, (sha, lines) in files.items()
    }
    return ContextFingerprint.from_dict({"files": {k: v.to_list() for k, v in entries.items()}})


def test_copy_sources() -> None:
    assert copy_sources("COPY requirements.txt ./") == ("requirements.txt",)
    assert copy_sources("COPY --chown=app:app --chmod=644 a b /dst/") == ("a", "b")
    assert copy_sources('COPY ["with space.txt", "/dst/"]') == ("with space.txt",)
    assert copy_sources("COPY . .") == (".",)
    assert copy_sources("COPY --from=deps /deps/requirements.txt ./") is None
    assert copy_sources("ADD https://example.invalid/x.tgz /x") is None
    assert copy_sources("RUN echo COPY a b") is None


def test_explain_misses_on_the_captured_code_edit() -> None:
    """Steps from the real streams: the code-edit build against the fully cached one."""

    def records(name: str) -> list[StepRecord]:
        report = reports_from_stream((RAWJSON / name).read_bytes(), returncode=0)["backend"]
        return records_from_report(report)

    previous, current = records("compose_cached.out"), records("compose_code_edit.out")
    old = fingerprint({"requirements.txt": ("r1", 2), "app/main.py": ("m1", 1)})
    new = fingerprint({"requirements.txt": ("r1", 2), "app/main.py": ("m2", 2)})
    reasons = explain_misses(current, previous, old, new)
    run = next(s for s in current if s.stage == "runtime" and s.instruction.startswith("RUN"))
    assert reasons == {
        "[runtime] COPY app ./app": (
            "`COPY app ./app` re-ran because `app/main.py` changed (+1 line)"
        ),
        run.key: f"`{run.instruction}` re-ran because an earlier step re-ran: `COPY app ./app`",
    }
    # With no earlier build, every step that ran says so (FROM is left out).
    first = explain_misses(records("compose_cold.out"), None)
    assert first and all(r.endswith("no earlier build to compare with") for r in first.values())
    assert not any(k.split("] ", 1)[-1].startswith("FROM") for k in first)


def test_explain_misses_reasons() -> None:
    before = [
        StepRecord("deps", "FROM python AS deps", False),
        StepRecord("deps", "COPY requirements.txt ./", True),
        StepRecord("deps", "RUN pip install -r requirements.txt", True),
        StepRecord("runtime", "COPY --from=deps /venv /venv", True),
        StepRecord("runtime", "COPY . .", True),
        StepRecord("runtime", "RUN python -m compileall .", True),
    ]
    ran = [StepRecord(s.stage, s.instruction, False) for s in before]
    old = fingerprint({"requirements.txt": ("a", 3), "app.py": ("p", 10), "x/1": ("1", 1)})
    new = fingerprint(
        {"requirements.txt": ("b", 4), "app.py": ("p", 10), "x/2": ("2", 1), "y": ("y", 0)}
    )
    reasons = explain_misses(ran, before, old, new)
    assert reasons[step_key("deps", "COPY requirements.txt ./")] == (
        "`COPY requirements.txt ./` re-ran because `requirements.txt` changed (+1 line)"
    )
    assert reasons[step_key("deps", "RUN pip install -r requirements.txt")].endswith(
        "because an earlier step re-ran: `COPY requirements.txt ./`"
    )
    assert reasons[step_key("runtime", "COPY --from=deps /venv /venv")] == (
        "`COPY --from=deps /venv /venv` re-ran because stage `deps` changed "
        "(`RUN pip install -r requirements.txt` re-ran)"
    )
    assert step_key("deps", "FROM python AS deps") not in reasons

    # `COPY . .` alone: names up to three files, then counts the rest.
    copy_all = [StepRecord("runtime", "COPY . .", False)]
    assert explain_misses(copy_all, before, old, new)["[runtime] COPY . ."] == (
        "`COPY . .` re-ran because `requirements.txt` changed (+1 line), `x/1` was removed, "
        "`x/2` was added and 1 more"
    )

    # Base image, build args, new instructions, nothing found.
    base = explain_misses(
        ran, before, old_base_digest="sha256:" + "a" * 64, new_base_digest="sha256:" + "b" * 64
    )
    assert base["[deps] FROM python AS deps"] == (
        "`FROM python AS deps` re-ran because the base image digest changed "
        "(sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb)"
    )
    assert base["[deps] COPY requirements.txt ./"].endswith(
        "because the base image digest changed (sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb)"
    )
    only_run = [StepRecord("runtime", "RUN python -m compileall .", False)]
    args = explain_misses(only_run, before, old, old, {"TOKEN": "s3cret"}, {"TOKEN": "other"})
    assert args == {
        "[runtime] RUN python -m compileall .": (
            "`RUN python -m compileall .` re-ran because build arg `TOKEN` (set -> set) changed"
        )
    }
    assert "s3cret" not in str(args) and "other" not in str(args)  # values never shown
    edited = [StepRecord("runtime", "RUN python -m compileall -q .", False)]
    assert "instruction is new or changed" in explain_misses(edited, before)[edited[0].key]
    assert "no input changed" in explain_misses(only_run, before, old, old)[only_run[0].key]


def test_explain_misses_matches_steps_when_the_stage_name_is_borrowed() -> None:
    """On a shared daemon a step can carry another build's stage name: fall back to text."""
    before = [StepRecord("deps", "COPY requirements.txt ./", True)]
    now = [StepRecord("builder", "COPY requirements.txt ./", False)]
    old = fingerprint({"requirements.txt": ("a", 3)})
    new = fingerprint({"requirements.txt": ("b", 1)})
    assert explain_misses(now, before, old, new) == {
        "[builder] COPY requirements.txt ./": (
            "`COPY requirements.txt ./` re-ran because `requirements.txt` changed (-2 lines)"
        )
    }


def test_step_records_round_trip() -> None:
    record = StepRecord(None, "COPY . .", False)
    assert StepRecord.from_dict(record.to_dict()) == record
    assert record.key == "COPY . ."
