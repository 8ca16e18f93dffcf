"""dockyard.context's .dockerignore matcher against the real engine (BuildKit via buildx).

For each case: write the same context tree plus that case's `.dockerignore`, build
`FROM scratch` / `COPY . /` with `--output type=local` (no image is created), list the files
that arrived, and compare with what `dockyard.context` predicts. The Dockerfile lives outside
the context, so the context holds only the tree and the `.dockerignore`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dockyard.dockerignore import (
    DockerIgnore,
    context_files,
    parse_dockerignore,
    read_dockerignore,
)
from dockyard.fingerprint import fingerprint_context
from tests.conftest import DockerStack

pytestmark = pytest.mark.docker

TREE = [
    "Dockerfile",
    ".env",
    ".env.local",
    ".env.production",
    "a.py",
    "a.pyc",
    "pkg/b.py",
    "pkg/b.pyc",
    "pkg/__pycache__/b.cpython-311.pyc",
    "pkg/sub/__pycache__/c.pyc",
    "__pycache__/top.pyc",
    "build/out.txt",
    "build/nested/deep.txt",
    "src/build/keep.txt",
    "src/main.py",
    "docs/index.md",
    "docs/keep.md",
    "docs/sub/keep.md",
    "docs/api/ref.md",
    "temp1",
    "temp12",
    "tempA/file.txt",
    "a.txt",
    "b.txt",
    "c.txt",
    "d.txt",
    "sub/one/x",
    "sub/one/y",
    "sub/two/x",
    "sub/one/deeper/x",
    "app.log",
    "important.log",
    "logs/debug.log",
    "logs/important.log",
    "dir/keep",
    "dir/drop",
    "dir/nested/keep",
    "foo",
    "barfoo",
    "x/foo",
    "name with space.txt",
    "# not a comment",
]
SYMLINKS = {"link-to-a.txt": "a.txt"}

CASES: dict[str, str] = {
    "none": "",
    "star-pyc": "*.pyc\n",
    "globstar-pyc": "**/*.pyc\n",
    "rooted-build": "/build\n",
    "build-slash": "build/\n",
    "docs-globstar": "docs/**\n",
    "docs-globstar-keep": "docs/**\n!docs/keep.md\n",
    "pycache-anywhere": "**/__pycache__\n",
    "question-mark": "temp?\n",
    "char-class": "[a-c].txt\n",
    "middle-star": "sub/*/x\n",
    "log-but-important": "*.log\n!important.log\n",
    "comment-and-blank": "# a comment\n\n   \na.py\n  # not a comment\n",
    "dotenv": ".env\n",
    "dotenv-star": ".env.*\n",
    "dir-keep": "dir\n!dir/keep\n",
    "dir-keep-globstar": "docs\n!**/keep.md\n",
    "suffix-foo": "**/foo\n",
    "dockerfile-and-ignore": "Dockerfile\n.dockerignore\n",
    "whitelist": "*\n!src\n!docs/*.md\n",
    "everything-but": "**\n!pkg/**/*.py\n",
    "clean-dots": "./a.py\npkg/../a.txt\n/sub/one/../two\n",
    "later-wins": "!a.py\na.py\nlogs\n!logs/important.log\nlogs/important.log\n",
    "star-dir": "*/\n",
    "globstar-middle": "sub/**/x\n",
    "space-and-symlink": "name with space.txt\nlink-to-a.txt\n",
    "crlf": "a.py\r\nbuild\r\n",
    "bom": "\ufeffa.py\n",
}


def make_context(root: Path, dockerignore: str) -> Path:
    context = root / "ctx"
    for rel in TREE:
        path = context / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{rel}\n", encoding="utf-8")
    for rel, target in SYMLINKS.items():
        os.symlink(target, context / rel)
    if dockerignore:
        (context / ".dockerignore").write_bytes(dockerignore.encode("utf-8"))
    return context


def arrived(out: Path) -> set[str]:
    files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(out):
        rel = Path(dirpath).relative_to(out)
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            files.add((rel / name).as_posix())
    return files


def build(context: Path, dockerfile: Path, out: Path) -> set[str]:
    result = subprocess.run(
        [
            "docker",
            "buildx",
            "build",
            "--quiet",
            "--output",
            f"type=local,dest={out}",
            "--file",
            str(dockerfile),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return arrived(out)


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[dict[str, tuple[Path, set[str]]]]:
    """Build every case once (in parallel): case -> (context dir, files that arrived)."""
    base = tmp_path_factory.mktemp("dockerignore")
    dockerfile = base / "df" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\nCOPY . /\n", encoding="utf-8")

    def run(case: str) -> tuple[str, tuple[Path, set[str]]]:
        context = make_context(base / case, CASES[case])
        return case, (context, build(context, dockerfile, base / case / "out"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(pool.map(run, CASES))
    yield results
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("case", list(CASES))
def test_matcher_agrees_with_the_engine(
    case: str, engine: dict[str, tuple[Path, set[str]]]
) -> None:
    context, sent = engine[case]
    predicted = set(context_files(context, parse_dockerignore(CASES[case])))
    assert predicted == sent, (
        f"only dockyard: {sorted(predicted - sent)}; only Docker: {sorted(sent - predicted)}"
    )
    # Reading the file from the context and fingerprinting walk the same way.
    assert set(context_files(context, read_dockerignore(context))) == sent
    assert set(fingerprint_context(context).files) == sent


def test_cases_are_not_trivial(engine: dict[str, tuple[Path, set[str]]]) -> None:
    everything = engine["none"][1]
    assert everything == set(TREE) | set(SYMLINKS)
    for case, (_, sent) in engine.items():
        if case != "none":
            assert sent != everything, f"{case} excluded nothing"


def test_single_path_matcher_agrees_with_the_walk(
    engine: dict[str, tuple[Path, set[str]]],
) -> None:
    for case, (_, sent) in engine.items():
        ignore = DockerIgnore(parse_dockerignore(CASES[case]))
        everything = set(TREE) | set(SYMLINKS) | ({".dockerignore"} if CASES[case] else set())
        assert {p for p in everything if ignore.included(p)} == sent, case


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    """`<Dockerfile>.dockerignore` beside the Dockerfile replaces the context's .dockerignore."""
    context = make_context(tmp_path, "a.py\n")
    dockerfile = tmp_path / "df" / "app.Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\nCOPY . /\n", encoding="utf-8")
    (tmp_path / "df" / "app.Dockerfile.dockerignore").write_text("docs\n*.log\n", encoding="utf-8")
    sent = build(context, dockerfile, tmp_path / "out")
    patterns = read_dockerignore(context, dockerfile)
    assert patterns == ["docs", "*.log"]
    assert set(context_files(context, patterns)) == sent
    assert "a.py" in sent and "docs/keep.md" not in sent


BACKEND = Path(__file__).resolve().parents[2] / "backend"


def test_the_projects_backend_context(tmp_path: Path) -> None:
    """The project's own backend context: the fingerprint holds exactly what Docker sends."""
    dockerfile = tmp_path / "df" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\nCOPY . /\n", encoding="utf-8")
    sent = build(BACKEND, dockerfile, tmp_path / "out")
    assert set(fingerprint_context(BACKEND).files) == sent
    assert "requirements.txt" in sent
    assert not any(p.startswith(("tests/", ".mypy_cache/")) or "__pycache__" in p for p in sent)
