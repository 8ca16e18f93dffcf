"""dockyard.dockerignore without Docker: reading the file and BuildKit's matching rules.

The matcher's agreement with the real engine is proven in
tests/docker/test_dockerignore_engine.py; these tests pin the rules down without Docker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerignore import (
    DockerIgnore,
    context_files,
    go_clean,
    parse_dockerignore,
    read_dockerignore,
)
from tests.unit.test_fingerprint import write

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
