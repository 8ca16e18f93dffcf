"""dockyard.context without Docker: ignore-file reading, matching rules, fingerprints, reasons.

The matcher's agreement with the real engine is proven in
tests/docker/test_dockerignore_engine.py; these tests pin the rules down without Docker.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockyard.context import (
    ContextFingerprint,
    DockerIgnore,
    FileEntry,
    FingerprintCache,
    StepRecord,
    context_files,
    copy_sources,
    diff_fingerprints,
    explain_misses,
    fingerprint_context,
    go_clean,
    parse_dockerignore,
    read_dockerignore,
    records_from_report,
    step_key,
)
from dockyard.progress import reports_from_stream

RAWJSON = Path(__file__).resolve().parent.parent / "data" / "rawjson"
OLD = time.time_ns() - 3_600_000_000_000  # an hour ago: not "racy"


def write(root: Path, files: dict[str, str], mtime_ns: int | None = OLD) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))


# -- reading .dockerignore -------------------------------------------------------------------


def test_parse_dockerignore_like_buildkit_readall() -> None:
    text = "\ufeff# comment\n\n  *.pyc  \n /build/ \n! docs/keep.md\n  # not a comment\n./a/../b\n"
    assert parse_dockerignore(text) == ["*.pyc", "build", "!docs/keep.md", "# not a comment", "b"]


def test_parse_dockerignore_crlf() -> None:
    assert parse_dockerignore("a.py\r\nbuild\r\n") == ["a.py", "build"]


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("", "."),
        ("a//b/./c/", "a/b/c"),
        ("a/../../b", "../b"),
        ("/../a", "/a"),
        ("//a", "/a"),
        ("./", "."),
    ],
)
def test_go_clean(path: str, clean: str) -> None:
    assert go_clean(path) == clean


def test_read_dockerignore_prefers_the_dockerfile_specific_file(tmp_path: Path) -> None:
    write(tmp_path, {"ctx/.dockerignore": "a\n", "df/Dockerfile.dev.dockerignore": "b\n"})
    context = tmp_path / "ctx"
    assert read_dockerignore(context) == ["a"]
    assert read_dockerignore(context, tmp_path / "df" / "Dockerfile.dev") == ["b"]
    assert read_dockerignore(context, tmp_path / "df" / "Dockerfile") == ["a"]
    assert read_dockerignore(tmp_path / "nowhere") == []


# -- matching rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.pyc"], "a.pyc", True),
        (["*.pyc"], "pkg/a.pyc", False),  # anchored at the root, `*` stops at `/`
        (["**/*.pyc"], "pkg/sub/a.pyc", True),
        (["**/*.pyc"], "a.pyc", True),
        (["build"], "src/build/x", False),
        (["build"], "build/deep/x", True),  # a matched directory takes its contents
        (["docs/**"], "docs/a/b.md", True),
        (["docs/**", "!docs/keep.md"], "docs/keep.md", False),
        (["**/__pycache__"], "a/b/__pycache__/x.pyc", True),
        (["**/foo"], "barfoo", False),
        (["**/foo"], "x/foo", True),
        (["temp?"], "temp1", True),
        (["temp?"], "temp12", False),
        (["[a-c].txt"], "b.txt", True),
        (["[a-c].txt"], "d.txt", False),
        (["sub/*/x"], "sub/one/x", True),
        (["sub/*/x"], "sub/one/deeper/x", False),
        (["sub/**/x"], "sub/one/deeper/x", True),
        (["*.log", "!important.log"], "important.log", False),
        (["*.log", "!important.log"], "logs/important.log", False),
        (["dir", "!dir/keep"], "dir/keep", False),
        (["dir", "!dir/keep"], "dir/nested/keep", True),
        (["a.py", "!a.py", "a.py"], "a.py", True),  # the last match wins
        (["*"], "anything/at/all", True),
        (["*", "!src"], "src/main.py", False),
        (["a+b(c).txt"], "a+b(c).txt", True),  # regex metacharacters are literal
        (["a\\*b"], "a*b", True),  # `\` escapes
        (["a\\*b"], "axb", False),
    ],
)
def test_matching_rules(patterns: list[str], path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excluded(path) is excluded


def test_bad_patterns_are_rejected() -> None:
    with pytest.raises(ValueError, match="exclusion"):
        DockerIgnore(["!"])
    with pytest.raises(ValueError, match=r"bad \.dockerignore pattern"):
        DockerIgnore(["[a-"])


def test_walk_prunes_only_when_no_exception_can_reach_inside(tmp_path: Path) -> None:
    write(tmp_path, {"docs/a.md": "", "docs/sub/keep.md": "", "src/x.py": ""})
    assert context_files(tmp_path, ["docs"]) == ["src/x.py"]
    assert context_files(tmp_path, ["docs", "!**/keep.md"]) == ["docs/sub/keep.md", "src/x.py"]
    assert context_files(tmp_path, ["docs", "!docs/sub"]) == ["docs/sub/keep.md", "src/x.py"]
    ignore = DockerIgnore(["docs", "!docs/sub"])
    assert ignore.can_skip_dir("src") and not ignore.can_skip_dir("docs")
    assert not DockerIgnore(["docs", "!**/keep.md"]).can_skip_dir("docs")


# -- fingerprint -----------------------------------------------------------------------------


def test_fingerprint_follows_dockerignore_and_counts_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".dockerignore": "*.log\n",
            "app/main.py": "a\nb\n",
            "debug.log": "x\n",
            "requirements.txt": "one\n",
        },
    )
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    fp = fingerprint_context(tmp_path)
    assert sorted(fp.files) == [".dockerignore", "app/main.py", "blob.bin", "requirements.txt"]
    assert fp.files["app/main.py"].lines == 2
    assert fp.files["blob.bin"].lines is None
    assert fp.patterns == ("*.log",)
    assert fp.hashed == 4
    assert fp.digest.startswith("sha256:")
    # The digest ignores mtimes and ignored files, and sees content.
    os.utime(tmp_path / "app" / "main.py", ns=(OLD + 5, OLD + 5))
    (tmp_path / "debug.log").write_text("changed\n", encoding="utf-8")
    assert fingerprint_context(tmp_path).digest == fp.digest
    (tmp_path / "requirements.txt").write_text("two\n", encoding="utf-8")
    assert fingerprint_context(tmp_path).digest != fp.digest


def test_warm_run_reads_no_unchanged_file(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    write(context, {f"pkg/m{i}.py": f"x = {i}\n" for i in range(50)})
    cache_file = tmp_path / "state" / "fingerprints.json"
    cold = fingerprint_context(context, [], FingerprintCache(cache_file))
    assert cold.hashed == 50
    assert cache_file.is_file()
    warm = fingerprint_context(context, [], FingerprintCache(cache_file))
    assert warm.hashed == 0
    assert warm.digest == cold.digest
    # A changed file is noticed through its size/mtime and hashed again.
    write(context, {"pkg/m7.py": "x = 'seven'\n"}, mtime_ns=OLD + 1_000_000_000)
    after = fingerprint_context(context, [], FingerprintCache(cache_file))
    assert after.hashed == 1
    assert after.digest != cold.digest
    assert [c.path for c in diff_fingerprints(cold, after)] == ["pkg/m7.py"]


def test_recently_modified_files_are_not_trusted_from_the_cache(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    write(context, {"fresh.py": "1\n"}, mtime_ns=None)  # modified just now
    cache_file = tmp_path / "fp.json"
    fingerprint_context(context, [], FingerprintCache(cache_file))
    again = fingerprint_context(context, [], FingerprintCache(cache_file))
    assert again.hashed == 1


def test_cache_survives_garbage_and_serves_several_contexts(tmp_path: Path) -> None:
    cache_file = tmp_path / "fp.json"
    cache_file.write_text("{not json", encoding="utf-8")
    write(tmp_path / "one", {"a": "1\n"})
    write(tmp_path / "two", {"b": "2\n"})
    cache = FingerprintCache(cache_file)
    fingerprint_context(tmp_path / "one", [], cache)
    fingerprint_context(tmp_path / "two", [], cache)
    reloaded = FingerprintCache(cache_file)
    assert fingerprint_context(tmp_path / "one", [], reloaded).hashed == 0
    assert fingerprint_context(tmp_path / "two", [], reloaded).hashed == 0


def test_symlinks_are_fingerprinted_by_target(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n"})
    os.symlink("a.txt", tmp_path / "link")
    fp = fingerprint_context(tmp_path, [])
    assert fp.files["link"].link == "a.txt"


def test_fingerprint_round_trips_through_json(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "b/c.txt": "c\n"})
    fp = fingerprint_context(tmp_path, ["x"])
    again = ContextFingerprint.from_dict(fp.to_dict())
    assert again.files == fp.files
    assert again.digest == fp.digest
    assert again.patterns == ("x",)


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


@pytest.mark.parametrize(
    "patterns",
    [
        ["docs/**", "!docs/keep.md"],
        ["**/__pycache__", "*.log", "!logs/keep.log"],
        ["sub/*/x", "[a-c].txt", "temp?"],
        ["*", "!src", "!docs/*.md"],
        ["**", "!pkg/**/*.py"],
        ["dir", "!dir/keep", "a\\*b"],
    ],
)
def test_walk_agrees_with_the_single_path_matcher(tmp_path: Path, patterns: list[str]) -> None:
    """The walk skips patterns that cannot match below a directory; same answer as `excluded`."""
    tree = [
        "a.txt", "b.txt", "d.txt", "a*b", "temp1", "temp12", "app.log", "logs/keep.log",
        "logs/x.log", "docs/keep.md", "docs/a.md", "docs/sub/keep.md", "sub/one/x",
        "sub/one/deep/x", "src/main.py", "pkg/a.py", "pkg/sub/b.py", "pkg/sub/b.pyc",
        "pkg/__pycache__/a.pyc", "dir/keep", "dir/drop", "dir/nested/keep",
    ]  # fmt: skip
    write(tmp_path, dict.fromkeys(tree, "x\n"))
    ignore = DockerIgnore(patterns)
    assert context_files(tmp_path, patterns) == sorted(p for p in tree if ignore.included(p))


def test_cache_saves_merge_contexts_fingerprinted_by_other_processes(tmp_path: Path) -> None:
    write(tmp_path / "one", {"a": "1\n"})
    write(tmp_path / "two", {"b": "2\n"})
    cache_file = tmp_path / "fp.json"
    first, second = FingerprintCache(cache_file), FingerprintCache(cache_file)  # both empty
    fingerprint_context(tmp_path / "one", [], first)
    fingerprint_context(tmp_path / "two", [], second)  # must not drop "one"
    reloaded = FingerprintCache(cache_file)
    assert fingerprint_context(tmp_path / "one", [], reloaded).hashed == 0
    assert fingerprint_context(tmp_path / "two", [], reloaded).hashed == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("fp.json.")] == []
