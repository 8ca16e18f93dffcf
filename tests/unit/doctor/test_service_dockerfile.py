"""Checks of what a Dockerfile says, one rule at a time (facts gathered from a Dockerfile
written to a temporary context)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerfile import parse
from dockyard.doctor.cache_mounts import cache_conflicts
from dockyard.doctor.checks.service_dockerfile import check_hadolint, copies_whole_context
from dockyard.doctor.facts import HadolintFinding, HadolintResult, ServiceFacts
from dockyard.doctor.gather import gather_service
from dockyard.doctor.installs import pip_installs
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN
from tests.unit.doctor.helpers import (
    LIMITS,
    dockerfile_facts,
    gather,
    model,
    result_of,
    service_results,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # uv: --no-cache and UV_NO_CACHE=1 disable the mount; UV_NO_CACHE=0 does not.
        (
            "FROM x\n"
            "RUN --mount=type=cache,target=/root/.cache/uv uv pip install --no-cache -r r\n",
            ["line 2: uv --no-cache with a cache mount on /root/.cache/uv"],
        ),
        (
            "FROM x\nENV UV_NO_CACHE=1\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n",
            ["line 3: UV_NO_CACHE is set with a cache mount on /root/.cache/uv"],
        ),
        ("FROM x\nENV UV_NO_CACHE=0\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n", []),
        # pip reads PIP_NO_CACHE_DIR=0 as "off" too; ENV passes to the stages built on it ...
        (
            "FROM x AS base\nENV PIP_NO_CACHE_DIR=0\nFROM base\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
            [
                "line 4: PIP_NO_CACHE_DIR is set (pip reads any value as 'off') with a cache "
                "mount on /root/.cache/pip"
            ],
        ),
        # ... an ARG counts in its own stage, and goes out of scope at the end of it (Docker).
        (
            "FROM x\nARG PIP_NO_CACHE_DIR=0\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
            [
                "line 3: PIP_NO_CACHE_DIR is set (pip reads any value as 'off') with a cache "
                "mount on /root/.cache/pip"
            ],
        ),
        (
            "FROM x AS base\nARG PIP_NO_CACHE_DIR=0\nFROM base\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
            [],
        ),
        (
            "FROM x\nRUN --mount=type=cache,target=/cache PIP_NO_CACHE_DIR=1 "
            "PIP_CACHE_DIR=/cache pip install a==1\n",
            [],  # the mount target is not pip's cache as far as the stage's ENV says
        ),
        # an apt cache mount next to pip --no-cache-dir is not pip's cache
        (
            "FROM x\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && "
            "pip install --no-cache-dir a==1\n",
            [],
        ),
        # no cache mount: --no-cache-dir is the right thing to do
        ("FROM x\nRUN pip install --no-cache-dir a==1\n", []),
    ],
)
def test_cache_conflicts(text: str, expected: list[str]) -> None:
    assert cache_conflicts(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "target", "args", "expected"),
    [
        ("FROM x\nUSER app\n", None, {}, ("app", None)),
        ("FROM x\n", None, {}, (None, "x")),
        ("FROM scratch\n", None, {}, (None, None)),
        ("FROM x AS base\nUSER 1000\nFROM base\nRUN true\n", None, {}, ("1000", None)),
        ("FROM x AS a\nUSER 1000\nFROM x AS b\nUSER root\n", "a", {}, ("1000", None)),
        ("ARG B=py\nFROM ${B}\n", None, {"B": "other"}, (None, "other")),
        ("FROM x\nARG UID=10001\nUSER ${UID}:${UID}\n", None, {}, ("10001:10001", None)),
        ("FROM x\nARG UID=10001\nUSER ${UID}\n", None, {"UID": "0"}, ("0", None)),
    ],
)
def test_final_user(
    text: str, target: str | None, args: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    assert parse(text).final_user(args, target) == expected


def test_root_user_sources(tmp_path: Path) -> None:
    facts = dockerfile_facts("FROM img\nRUN true\n", tmp_path)
    assert result_of(facts, "root-user").status == WARN
    base_user = gather_service(
        model({"svc": {"build": {"context": str(tmp_path)}}})["svc"],
        builds={},
        base_user=lambda image: "nonroot" if image == "img" else None,
    )
    assert result_of(base_user, "root-user").reason == (
        "no USER; the base image img runs as 'nonroot'"
    )
    compose_user = gather_service(
        model({"svc": {"build": {"context": str(tmp_path)}, "user": "1000:1000"}})["svc"],
        builds={},
    )
    assert result_of(compose_user, "root-user").status == PASS


@pytest.mark.parametrize(
    ("instruction", "whole"),
    [
        ("COPY . .", True),
        ("COPY ./ /app/", True),
        ("ADD . /app", True),
        ("COPY * ./", True),
        ('COPY [".", "/app"]', True),
        ("COPY --chown=1000 . .", True),
        ("COPY --from=deps /opt/venv /opt/venv", False),
        ("COPY app/ ./app/", False),
        ("COPY requirements.txt .", False),
    ],
)
def test_copies_whole_context(instruction: str, whole: bool) -> None:
    ins = parse(f"FROM x\n{instruction}\n").instructions[1]
    assert copies_whole_context(ins) is whole


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("FROM x\nCOPY . .\nRUN pip install -r requirements.txt\n", WARN),
        ("FROM x\nCOPY . .\nRUN npm ci\n", WARN),
        ("FROM x\nCOPY . .\nRUN uv sync --frozen\n", WARN),
        ("FROM x\nCOPY . .\nRUN poetry install\n", WARN),
        ("FROM x\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n", PASS),
        ("FROM x AS a\nCOPY . .\nFROM x\nRUN pip install a==1\n", PASS),
        ("FROM x\nCOPY . .\nRUN python -m compileall .\n", PASS),
    ],
)
def test_copy_before_install(text: str, status: str, tmp_path: Path) -> None:
    assert result_of(dockerfile_facts(text, tmp_path), "copy-before-install").status == status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("FROM x\nADD https://example.com/a.tgz /a.tgz\n", WARN),
        ("FROM x\nADD --checksum=sha256:0123 https://example.com/a.tgz /a.tgz\n", PASS),
        ("FROM x\nADD app.tar.gz /app\n", PASS),
    ],
)
def test_add_remote_url(text: str, status: str, tmp_path: Path) -> None:
    assert result_of(dockerfile_facts(text, tmp_path), "add-remote-url").status == status


def test_syntax_directive(tmp_path: Path) -> None:
    facts = dockerfile_facts("# syntax=docker/dockerfile:1.7\nFROM x\nUSER 1\n", tmp_path)
    result = result_of(facts, "syntax-directive")
    assert result.status == WARN
    assert "offline builds fail" in result.reason


def test_cache_from_registry_cache_and_own_image(tmp_path: Path) -> None:
    text = "FROM python:3.11-slim\nUSER 1\n"
    registry = dockerfile_facts(text, tmp_path, cache_from=["type=registry,ref=r/app:cache"])
    assert result_of(registry, "cache-from").status == PASS
    (tmp_path / "Dockerfile").write_bytes(text.encode())
    services = {
        "svc": {
            "build": {
                "context": str(tmp_path),
                "cache_from": ["docker.io/library/python:3.11-slim"],
            }
        }
    }
    base = gather("svc", services, "p", hadolint_path=None)
    assert result_of(base, "cache-from").status == WARN  # the same base, spelled in full
    foreign = gather(
        "svc",
        {"svc": {"build": {"context": str(tmp_path), "cache_from": ["other/img:1"]}}},
        "p",
        hadolint_path=None,
    )
    assert "not built by this project" in result_of(foreign, "cache-from").reason


def test_requirements_includes_are_followed(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_bytes(b"flask\n")
    (tmp_path / "requirements.txt").write_bytes(b"-r reqs/base.txt\nrequests==2.32.3\n")
    facts = dockerfile_facts(
        "FROM x\nCOPY requirements.txt reqs ./\nRUN pip install -r requirements.txt\nUSER 1\n",
        tmp_path,
    )
    assert result_of(facts, "unpinned-requirements").details == (
        "reqs/base.txt: 1 not pinned with == (flask)",
    )


def test_pip_installs() -> None:
    text = (
        "FROM x\n"
        'RUN --mount=type=cache,target=/root/.cache/pip pip install --timeout=120 "uv==${V}"\n'
        "RUN --mount=type=cache,target=/root/.cache/uv uv venv /opt/venv \\\n"
        "    && uv pip install --python /opt/venv/bin/python --require-hashes \\\n"
        "       -r /tmp/requirements.txt\n"
        "RUN uv pip sync --python /cache/venv/bin/python --require-hashes /tmp/reqs.txt\n"
        "RUN python3 -m pip install --no-deps --target=/opt/uv -r/tmp/uv-requirements.txt\n"
    )
    installs = pip_installs(parse(text))
    assert [(i.line, i.requirement_files, i.packages) for i in installs] == [
        (2, (), ("uv==${V}",)),
        (3, ("/tmp/requirements.txt",), ()),
        (6, ("/tmp/reqs.txt",), ()),
        (7, ("/tmp/uv-requirements.txt",), ()),
    ]
    loose = pip_installs(parse("FROM x\nRUN pip install --upgrade pip && pip install -e .\n"))
    assert [i.packages for i in loose] == [("pip",), ()]


def test_hadolint_levels() -> None:
    def facts(*findings: HadolintFinding) -> ServiceFacts:
        return ServiceFacts(
            "s",
            Path("."),
            Path("Dockerfile"),
            b"FROM x\n",
            "img",
            hadolint=HadolintResult("/bin/hadolint", findings),
        )

    info = HadolintFinding("DL3009", "info", 5, "Delete the apt lists")
    warning = HadolintFinding("DL3008", "warning", 5, "Pin versions in apt get install")
    error = HadolintFinding("DL1000", "error", 2, "missing whitespace")
    assert check_hadolint(facts(), LIMITS).reason == "no findings"
    assert check_hadolint(facts(info), LIMITS).status == PASS
    assert check_hadolint(facts(info, warning), LIMITS).status == WARN
    assert check_hadolint(facts(warning, error), LIMITS).status == FAIL
    missing = ServiceFacts(
        "s", Path("."), Path("D"), b"FROM x\n", "i", hadolint=HadolintResult(None)
    )
    assert check_hadolint(missing, LIMITS).status == SKIP


# -- stages resolved by the Dockerfile model (case-insensitive names, ARG in FROM) ---------------

ISSUE_DOCKERFILE = "FROM python:3.11-slim AS Base\nUSER app\nFROM base\n"


def test_stage_names_are_case_insensitive_for_the_root_user(tmp_path: Path) -> None:
    facts = dockerfile_facts(ISSUE_DOCKERFILE, tmp_path)
    result = result_of(facts, "root-user")
    assert (result.status, result.reason) == (PASS, "the final stage runs as USER app")


def test_stage_names_are_case_insensitive_for_cache_from(tmp_path: Path) -> None:
    assert parse(ISSUE_DOCKERFILE).base_images() == ["python:3.11-slim"]
    phantom = dockerfile_facts(ISSUE_DOCKERFILE, tmp_path, cache_from=["base"])
    assert result_of(phantom, "cache-from").details == (
        "base is not built by this project with BUILDKIT_INLINE_CACHE=1: dockyard cannot tell "
        "that it carries cache metadata",
    )
    real = dockerfile_facts(ISSUE_DOCKERFILE, tmp_path, cache_from=["python:3.11-slim"])
    assert result_of(real, "cache-from").details == (
        "python:3.11-slim is a base image: it carries no build cache, and its layers are reused "
        "through FROM anyway",
    )


@pytest.mark.parametrize(
    "text",
    [
        # the stage named in another case: its ENV reaches the stage built on it
        "FROM x AS Base\nENV PIP_NO_CACHE_DIR=1\nFROM base\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
        # FROM ${ARG} naming an earlier stage
        "ARG FROM_STAGE=base\nFROM x AS base\nENV PIP_NO_CACHE_DIR=1\nFROM ${FROM_STAGE}\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install a==1\n",
    ],
)
def test_cache_conflicts_follow_stages_like_docker(text: str) -> None:
    [found] = cache_conflicts(parse(text))
    assert "PIP_NO_CACHE_DIR is set" in found


def test_cache_conflicts_read_quoted_env_values() -> None:
    text = 'FROM x\nENV UV_NO_CACHE="1"\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n'
    assert cache_conflicts(parse(text)) == [
        "line 3: UV_NO_CACHE is set with a cache mount on /root/.cache/uv"
    ]


# -- RUN heredocs are scanned like the command line ----------------------------------------------


def test_cache_conflicts_in_a_heredoc() -> None:
    text = (
        "FROM x\nRUN --mount=type=cache,target=/root/.cache/pip <<EOF\n"
        "set -e\npip install --no-cache-dir a==1\nEOF\n"
    )
    assert cache_conflicts(parse(text)) == [
        "line 2: pip --no-cache-dir with a cache mount on /root/.cache/pip"
    ]


def test_pip_installs_in_a_heredoc() -> None:
    text = "FROM x\nRUN <<EOF\nset -e\npip install flask -r requirements.txt\necho done\nEOF\n"
    installs = pip_installs(parse(text))
    assert [(i.line, i.requirement_files, i.packages) for i in installs] == [
        (2, ("requirements.txt",), ("flask",)),
    ]


def test_copy_before_an_install_in_a_heredoc(tmp_path: Path) -> None:
    text = "FROM x\nCOPY . .\nRUN <<EOF\nnpm ci\nEOF\nUSER 1\n"
    assert result_of(dockerfile_facts(text, tmp_path), "copy-before-install").status == WARN


# -- what the checks read is found the same way by gather and by the check -----------------------


def test_requirements_included_through_a_parent_directory(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "requirements.txt").write_bytes(b"-r reqs/base.txt\n")
    (tmp_path / "reqs" / "base.txt").write_bytes(b"-r ../constraints.txt\nrequests==2.32.3\n")
    (tmp_path / "constraints.txt").write_bytes(b"flask\n")
    facts = dockerfile_facts(
        "FROM x\nCOPY . .\nRUN pip install -r requirements.txt\nUSER 1\n", tmp_path
    )
    assert result_of(facts, "unpinned-requirements").details == (
        "constraints.txt: 1 not pinned with == (flask)",
    )


def test_a_dockerfile_buildkit_rejects_is_one_fail(tmp_path: Path) -> None:
    facts = dockerfile_facts("FROM x\nENV A\n", tmp_path)
    results = {r.id: r for r in service_results(facts)}
    assert results["dockerfile"].status == FAIL
    assert results["dockerfile"].reason.startswith("Dockerfile")
    assert "ENV must have two arguments" in results["dockerfile"].reason
    assert (
        results["dockerfile"].fix == "fix the instruction; Docker stops the build at a parse error"
    )
    skipped = {
        "syntax-directive",
        "copy-before-install",
        "cache-mount-no-cache",
        "add-remote-url",
        "root-user",
        "unpinned-requirements",
    }
    # hadolint is left out here (hadolint_path=None): it reads the Dockerfile's bytes itself
    assert {k for k, r in results.items() if r.status == SKIP} == {*skipped, "hadolint"}
    assert {results[k].reason for k in skipped} == {"the Dockerfile does not parse"}
