"""dockyard.requirements: pins, hashes, includes and names, as the doctor and bench read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import requirements

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spec", "pinned"),
    [
        ("fastapi==0.115.0", True),
        ("psycopg[binary]==3.2.3 ; python_version >= '3.10'", True),
        ("uv===0.4.0", True),
        ("fastapi>=0.100", False),
        ("fastapi", False),
        ("fastapi==0.*", False),
        ("pkg @ https://example.com/pkg.whl", False),
        ("pkg @ https://example.com/pkg.whl#sha256=abc", True),
        ('"uv==${UV_VERSION}"', True),
    ],
)
def test_requirement_pinned(spec: str, pinned: bool) -> None:
    assert requirements.is_pinned(spec) is pinned


def test_parse_the_bundled_requirements_in_hash_mode() -> None:
    text = (REPO / "backend" / "requirements.txt").read_text(encoding="utf-8")
    parsed = requirements.parse("requirements.txt", text)
    assert parsed.unpinned == ()
    assert parsed.hashed is True
    assert parsed.pinned == text.count("==")
    assert parsed.includes == ()


def test_requirement_names_normalise() -> None:
    text = (
        "Typing_Extensions==4.16.0 \\\n    --hash=sha256:ab\n# c\n-r other.txt\npsycopg[binary]\n"
    )
    assert requirements.requirement_names(text) == {"typing-extensions", "psycopg"}


def test_parse_pins_hashes_and_what_is_skipped() -> None:
    text = (
        "# comment\n"
        "Flask>=3  # inline comment\n"
        "requests==2.32.3 --hash=sha256:ab\n"
        "-e ./local\n"
        "--index-url https://example.com/simple\n"
        "./wheels/pkg-1.0-py3-none-any.whl\n"
        "pkg @ https://example.com/pkg.whl#sha256=ab\n"
    )
    parsed = requirements.parse("reqs/dev.txt", text)
    assert [(r.spec, r.name, r.pinned, r.hashed) for r in parsed.requirements] == [
        ("Flask>=3", "flask", False, False),
        ("requests==2.32.3", "requests", True, True),
        ("pkg @ https://example.com/pkg.whl#sha256=ab", "pkg", True, False),
    ]
    assert parsed.unpinned == ("Flask>=3",)
    assert parsed.hashed is False  # one of the two pinned lines has no --hash
    assert parsed.hash_checking is True  # but pip checks hashes: one line has --hash


def test_includes_are_relative_to_the_including_file_and_cleaned() -> None:
    text = "-r base.txt\n--requirement=../common/reqs.txt\n-c ./constraints.txt\n"
    parsed = requirements.parse("reqs/dev.txt", text)
    assert parsed.includes == ("reqs/base.txt", "common/reqs.txt", "reqs/constraints.txt")


def test_follow_reads_each_file_once_in_the_order_met() -> None:
    files = {
        "requirements.txt": "-r reqs/base.txt\n-r reqs/dev.txt\nrequests==2.32.3\n",
        "reqs/base.txt": "flask\n",
        "reqs/dev.txt": "-r ../requirements.txt\n-r base.txt\npytest==8.3.0\n",
    }
    followed = requirements.follow(["requirements.txt", "missing.txt"], files.get)
    assert [f.path for f in followed] == ["requirements.txt", "reqs/base.txt", "reqs/dev.txt"]


def test_hash_checking_reads_requirements_not_comments() -> None:
    assert requirements.parse("", "six==1.17.0 --hash sha256:ab\n").hash_checking is True
    assert requirements.parse("", "six==1.17.0  # --hash=sha256:ab\n").hash_checking is False
    assert requirements.parse("", "six==1.17.0\n").hash_checking is False
