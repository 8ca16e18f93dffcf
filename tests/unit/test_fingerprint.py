"""dockyard.fingerprint: what a build context sends, hashed once, compared later."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dockyard.fingerprint import (
    ContextFingerprint,
    FingerprintCache,
    diff_fingerprints,
    fingerprint_context,
)

OLD = time.time_ns() - 3_600_000_000_000  # an hour ago: not "racy"


def write(root: Path, files: dict[str, str], mtime_ns: int | None = OLD) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))


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


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "a.txt").write_text("a\n", encoding="utf-8")
    os.utime(tmp_path / "ctx" / "a.txt", (time.time() - 60, time.time() - 60))
    (tmp_path / "state").write_text("a file where the state dir should be", encoding="utf-8")
    cache = FingerprintCache(tmp_path / "state" / "fingerprints.json")
    found = fingerprint_context(tmp_path / "ctx", [], cache=cache)  # saving failed: no raise
    assert list(found.files) == ["a.txt"] and found.hashed == 1
    assert cache.save() is False
