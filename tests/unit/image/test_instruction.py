"""dockyard.image.instruction on real captured history (BuildKit and the legacy builder)."""

from __future__ import annotations

import pytest

from dockyard.image.instruction import clean_instruction
from tests.image_archives import read_rows


def test_clean_instruction_on_real_buildkit_history() -> None:
    rows = read_rows("buildkit-args-cache-mount.jsonl")
    assert [clean_instruction(row["CreatedBy"]) for row in rows] == [
        'CMD ["-c" "print(1)"]',
        'ENTRYPOINT ["python3"]',
        'HEALTHCHECK &{["CMD-SHELL" "python3 -c \\"print(1)\\""] "5s" "0s" "0s" "0s" \'\\x00\'}',
        "EXPOSE map[8000/tcp:{}]",
        "USER nobody",
        'RUN echo "$GREETING" | tee /srv/greeting.txt',  # SHELL bash -o pipefail; ARG "hi there"
        "SHELL [/bin/bash -o pipefail -c]",
        "RUN echo heredoc > /srv/heredoc.txt\necho second line >> /srv/heredoc.txt",
        "RUN echo one &&     echo two > /srv/two.txt",
        "RUN echo exec-form > /srv/exec.txt",
        'RUN echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.cache/pip'
        " && ls /root/.cache/pip",
        "COPY requirements.txt .",
        "WORKDIR /srv",
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ARG EMPTY=",
        "ARG GREETING=hello world",
        "ARG PIP_INDEX=https://pypi.example/simple",
        "",
    ]


def test_clean_instruction_on_real_legacy_builder_history() -> None:
    rows = read_rows("legacy-builder.jsonl")
    assert [clean_instruction(row["CreatedBy"]) for row in rows] == [
        'CMD ["python3"]',
        "RUN touch /exec",
        'RUN echo "$FOO" > /foo.txt',
        "COPY file:a596f0888def06c3cad1442667ede22d419985a1c8a3155b838b650c4cf52ecc in /a.txt",
        "ARG FOO=bar",
        "",
    ]


@pytest.mark.parametrize(
    ("created_by", "expected"),
    [
        ("RUN |1 A=x y z /bin/sh -c make # buildkit", "RUN make"),  # value with spaces, last
        ("RUN |2 A=1 2 B=3 /bin/sh -c make # buildkit", "RUN make"),  # value with spaces, first
        ("RUN |1 A=1 touch /x # buildkit", "RUN touch /x"),  # exec form, no shell
        ("/bin/sh -c apt-get update", "RUN apt-get update"),
        ("RUN /bin/sh -c echo hi # buildkit", "RUN echo hi"),
        ("cmd /S /C echo hi", "RUN echo hi"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_clean_instruction_cases(created_by: str, expected: str) -> None:
    assert clean_instruction(created_by) == expected
