"""The Dockerfile model: stages and what they build on, resolved as Docker resolves them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.dockerfile import DockerfileSyntaxError, ExternalImage, parse, substitute

REPO = Path(__file__).resolve().parents[2]

# The case: Docker compares stage names case-insensitively; the image runs as `app`.
MIXED_CASE = "FROM python:3.11-slim AS Base\nUSER app\nFROM base\n"


def test_stage_names_compare_case_insensitively() -> None:
    dockerfile = parse(MIXED_CASE)
    assert dockerfile.final_user() == ("app", None)
    assert dockerfile.base_images() == ["python:3.11-slim"]  # no phantom image `base`
    assert dockerfile.final_base() == "python:3.11-slim"
    assert dockerfile.stage_named("BASE") is dockerfile.stages[0]
    assert dockerfile.target_stage("bAsE") is dockerfile.stages[0]


def test_from_sees_only_arguments_declared_before_it() -> None:
    text = "ARG BASE=python:3.11-slim\nFROM ${BASE} AS deps\nFROM ${OTHER:-alpine:3} AS x\n"
    dockerfile = parse(text)
    assert dockerfile.base_images() == ["alpine:3"]  # the last stage, `x`, needs only alpine
    assert dockerfile.base_images(target="deps") == ["python:3.11-slim"]
    assert dockerfile.final_base({"BASE": "debian:12"}, target="deps") == "debian:12"
    # A build arg that no ARG declares does not reach FROM (Docker warns and ignores it).
    assert dockerfile.final_base({"OTHER": "busybox"}) == "alpine:3"


def test_platform_flag_and_numbered_stages() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build\n"
        "FROM scratch\nCOPY --from=0 /app /app\nCOPY --from=busybox:1 /bin/sh /sh\n"
    )
    dockerfile = parse(text)
    assert dockerfile.stages[0].platform == "$BUILDPLATFORM"
    assert dockerfile.final_base() == "scratch"
    assert [s.label for s in dockerfile.needed_stages()] == ["build", "1"]
    assert dockerfile.external_images() == [
        ExternalImage("golang:1.22", 1, "FROM", "build"),
        ExternalImage("busybox:1", 5, "COPY --from", "1"),
    ]


def test_only_the_stages_the_target_needs() -> None:
    text = (
        "FROM node:20 AS assets\nRUN build\nFROM python:3.11 AS deps\n"
        "RUN --mount=type=bind,from=assets,target=/a true\nFROM deps AS test\n"
        "FROM python:3.11-slim AS runtime\nCOPY --from=deps /venv /venv\n"
    )
    dockerfile = parse(text)
    assert [s.name for s in dockerfile.needed_stages()] == ["assets", "deps", "runtime"]
    assert dockerfile.base_images() == ["node:20", "python:3.11", "python:3.11-slim"]
    assert [s.name for s in dockerfile.needed_stages("test")] == ["assets", "deps", "test"]


def test_user_and_env_carry_up_the_chain() -> None:
    text = (
        "FROM x AS base\nENV APP_USER=svc\nFROM base AS mid\nARG UID=10001\n"
        "FROM mid\nUSER ${APP_USER}\n"
    )
    assert parse(text).final_user() == ("svc", None)
    args = "FROM x\nARG UID=10001\nUSER ${UID}:${UID}\n"
    assert parse(args).final_user() == ("10001:10001", None)
    assert parse(args).final_user({"UID": "0"}) == ("0:0", None)
    assert parse("FROM x\n").final_user() == (None, "x")  # the base image's own user applies
    assert parse("FROM scratch\n").final_user() == (None, None)


def test_escape_directive_heredocs_and_json_form() -> None:
    text = (
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        'RUN echo one `\n  two\nCMD ["cmd", "/c", "dir"]\n'
        "RUN <<EOF bash\nset -e\npip install -r requirements.txt\nEOF\n"
    )
    dockerfile = parse(text)
    assert dockerfile.directives == {"escape": "`"}
    run, cmd, heredoc = dockerfile.stages[0].instructions
    assert (run.line, run.end_line, run.args) == (3, 4, "echo one   two")
    assert (cmd.json, cmd.value) == (True, ("cmd", "/c", "dir"))
    assert heredoc.args == "<<EOF bash"
    assert "pip install -r requirements.txt" in heredoc.script


def test_the_bundled_backend() -> None:
    dockerfile = parse((REPO / "backend" / "Dockerfile.optimized").read_text(encoding="utf-8"))
    assert [s.name for s in dockerfile.stages] == ["uv", "runtime"]
    args = {"PYTHON_IMAGE": "dockyard-local/python:3.11-slim"}
    # uv's image by its default (UV_IMAGE not given), then the runtime's base.
    assert dockerfile.base_images(args) == ["astral/uv:0.13.9", "dockyard-local/python:3.11-slim"]
    assert dockerfile.final_base(args) == "dockyard-local/python:3.11-slim"
    user, _ = dockerfile.final_user()
    assert user == "10001:10001"


def test_the_backends_uv_image_is_the_pinned_uv() -> None:
    """UV_IMAGE's default names the version uv-requirements.txt pins (and the stand-in is made
    from), so the published image and the offline stand-in carry the same uv."""
    dockerfile = parse((REPO / "backend" / "Dockerfile.optimized").read_text(encoding="utf-8"))
    requirements = (REPO / "backend" / "uv-requirements.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^uv==(\S+)", requirements, re.M)
    assert pinned is not None
    assert dockerfile.base_images()[0] == f"astral/uv:{pinned[1]}"
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"UV_IMAGE: ${{UV_IMAGE:-astral/uv:{pinned[1]}}}" in compose


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("$A/x", {"A": "1"}, "1/x"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:+set}", {"A": "1"}, "set"),
        ("${A+set}", {"A": ""}, "set"),
        ("\\$A", {"A": "1"}, "$A"),
        ("${MISSING}", {}, ""),
    ],
)
def test_substitute(text: str, values: dict[str, str], expected: str) -> None:
    assert substitute(text, values) == expected


APP_DOCKERFILE = """\
ARG BASE=example/unused:1
FROM ${BASE} AS deps
RUN make data
FROM deps AS final
RUN make again
"""


def test_final_base_follows_stage_names_back() -> None:
    dockerfile = parse(APP_DOCKERFILE)
    assert dockerfile.final_base({"BASE": "example/base:1"}) == "example/base:1"
    assert dockerfile.final_base() == "example/unused:1"  # the ARG default


def test_final_base_of_the_last_stage_not_the_first() -> None:
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build /x /x\n"
    assert parse(text).final_base() == "alpine:3.20"
    assert parse(text).final_base(target="build") == "golang:1.22"
    assert parse(text).final_base(target="BUILD") == "golang:1.22"  # case-blind


def test_final_base_scratch_and_no_from() -> None:
    text = "FROM python:3.11 AS b\nRUN x\nFROM scratch AS out\nCOPY --from=b /x /x\nFROM out\n"
    assert parse(text).final_base() == "scratch"
    assert parse("ARG ONLY=1\n").final_base() is None
    with pytest.raises(DockerfileSyntaxError, match="file with no instructions"):
        parse("# nothing here\n")


def test_final_base_of_the_bundled_backend() -> None:
    text = (REPO / "backend" / "Dockerfile.optimized").read_text(encoding="utf-8")
    args = {"PYTHON_IMAGE": "dockyard-local/python:3.11-slim", "CACHE_ID": "x"}
    assert parse(text).final_base(args) == "dockyard-local/python:3.11-slim"
    assert parse(text).final_base() == "python:3.11-slim"


def test_env_values_lose_their_quotes_as_in_the_build() -> None:
    dockerfile = parse("FROM x\nENV U=\"1000\" NAME='a b' OLD=plain\nUSER $U\n")
    env = dockerfile.stages[0].instructions[0].env()
    assert env == {"U": "1000", "NAME": "a b", "OLD": "plain"}
    assert dockerfile.final_user() == ("1000", None)
