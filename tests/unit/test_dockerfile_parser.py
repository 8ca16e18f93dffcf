"""dockyard.dockerfile.parser against BuildKit's own parser: the PyPI package `dockerfile` 3.4.0
wraps BuildKit v0.12.5's Go parser and is the oracle. Each Dockerfile must give the same commands,
or the same error message, from both. The corpus: the repo's Dockerfiles, BuildKit's parser test
files (tests/data/dockerfiles), the strings of BuildKit's Go test tables, edge cases written here
and seeded random documents. A few plain tests of the port's own API need no oracle."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dockerfile  # the oracle; in the dev extra where the package has a wheel
import pytest

from dockyard.dockerfile.parser import (
    Command,
    DockerfileSyntaxError,
    Heredoc,
    ParsedDockerfile,
    parse_string,
)

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "dockerfiles"

# ----------------------------------------------------------------------------- the comparison


def _from_oracle(commands: Iterable[Any]) -> tuple[Command, ...]:
    """The oracle's namedtuples as Commands, undoing what its C binding does to Go's values:
    an empty string comes back as None, and a heredoc's file descriptor (Go uint) as a C long."""
    return tuple(
        Command(
            cmd=c.cmd or "",
            sub_cmd=c.sub_cmd,
            json=c.json,
            original=c.original or "",
            start_line=c.start_line,
            end_line=c.end_line,
            flags=tuple(c.flags),
            value=tuple(c.value),
            heredocs=tuple(
                Heredoc(h.name, h.file_descriptor % 2**64, h.content) for h in c.heredocs
            ),
        )
        for c in commands
    )


def _cut(text: str) -> str:
    return text.split("\0", 1)[0]


def _through_binding(commands: Sequence[Command]) -> tuple[Command, ...]:
    """The port's commands as the oracle's binding can show them: it hands strings over as C
    strings, so each ends at its first NUL (JSON `"\\u0000"` in BuildKit's json testfile)."""
    return tuple(
        dataclasses.replace(
            c,
            cmd=_cut(c.cmd),
            sub_cmd=None if c.sub_cmd is None else _cut(c.sub_cmd),
            original=_cut(c.original),
            flags=tuple(map(_cut, c.flags)),
            value=tuple(map(_cut, c.value)),
            heredocs=tuple(
                Heredoc(_cut(h.name), h.file_descriptor, _cut(h.content)) for h in c.heredocs
            ),
        )
        for c in commands
    )


def assert_same_as_buildkit(text: str) -> None:
    assert "\0" not in text, "the oracle's binding would cut the input at a NUL"
    try:
        expected = _from_oracle(dockerfile.parse_string(text))
    except dockerfile.GoParseError as err:
        with pytest.raises(DockerfileSyntaxError) as caught:
            parse_string(text)
        assert str(caught.value) == str(err)
        assert caught.value.line >= 1
        return
    assert _through_binding(parse_string(text).commands) == expected


# ----------------------------------------------------------------------------- (a), (b) files


def _repo_dockerfiles() -> list[Path]:
    patterns = (
        "backend/Dockerfile*",
        "tests/fixtures/**/Dockerfile*",
        "tests/data/history/*.Dockerfile",
    )
    return sorted({path for pattern in patterns for path in REPO.glob(pattern) if path.is_file()})


def _buildkit_dockerfiles() -> list[Path]:
    return sorted((CORPUS / "buildkit").glob("*/Dockerfile")) + sorted(
        (CORPUS / "buildkit-tests").glob("*.Dockerfile")
    )


CORPUS_FILES = _repo_dockerfiles() + _buildkit_dockerfiles()


def test_corpus_is_all_there() -> None:
    # 33 testfiles, 4 testfiles-negative, testfile-line; 3 documents from the Go tests.
    assert len(list((CORPUS / "buildkit").glob("*/Dockerfile"))) == 38
    assert len(list((CORPUS / "buildkit-tests").glob("*.Dockerfile"))) == 3
    assert len(_repo_dockerfiles()) >= 8


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[str(p.relative_to(REPO)) for p in CORPUS_FILES])
def test_corpus_file_parses_like_buildkit(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        assert_same_as_buildkit(handle.read())


# ----------------------------------------------------------------------------- (c) Go test tables

_HEREDOC_WORDS = {
    # parser_heredoc_test.go TestParseHeredocHelpers: valid, invalid and not heredocs
    "valid": ["<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<-"EOF"', '<<EO"F"'],
    "valid-at-head": ["<< EOF", "<<- EOF"],  # HEAD only; v0.12.5 sees no heredoc
    "invalid": ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"'],
    "not": ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"],
}
_HEREDOC_LINES = [  # TestHeredocsFromLine
    "RUN <<EOF",
    "RUN <<-EOF",
    "RUN <<- EOF",
    "RUN << -EOF",
    "RUN <<'EOF'",
    "RUN 4<<EOF",
    "RUN <<EOF <<EOF2",
    "RUN '<<EOF'",
    'RUN "<<EOF"',
]
_JSON_ARRAYS = [  # json_test.go, valid and invalid arrays of strings
    "[]",
    '[""]',
    '["a"]',
    '["a","b"]',
    '[ "a", "b" ]',
    '[\t"a",\t"b"\t]',
    '\t[\t"a",\t"b"\t]\t',
    '["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t"]',
    '["a",42,"b"]',
    '["a",123.456,"b"]',
    '["a",{},"b"]',
    '["a",{"c": "d"},"b"]',
    '["a",["c"],"b"]',
    '["a",true,"b"]',
    '["a",false,"b"]',
    '["a",null,"b"]',
]
_PARSE_WORDS = [  # parser_test.go TestParseWords, as ARG values
    "foo",
    "foo bar",
    "foo\\ bar",
    "foo=bar",
    "foo bar 'abc xyz'",
    'foo bar "abc xyz"',
    "àöû",
    'föo bàr "âbc xÿz"',
]
_DIRECTIVE_DOCS = [  # directives_test.go, each followed by an instruction
    "#escape=\\\n# key = FOO bar\n\n# smth\n",
    "# EScape=\\\n# KEY = FOO bar\n\n# smth\n",
    "# syntax = dockerfile:experimental // opts\nFROM busybox\n",
    "#!/bin/sh\n# syntax = dockerfile:experimental\nFROM busybox\n",
    "#!/bin/sh\n\n# syntax = dockerfile:experimental\n",
    "//syntax=foo\n//key=value",
    '{"syntax": "foo", "bar": ["abc"]}',
    "\ufeff# syntax = myfrontend\nFROM busybox\n",
]

GO_TABLE_CASES: dict[str, str] = {
    **{
        f"heredoc-word-{kind}:{word}": f"FROM a\nRUN {word}\nEOF\n"
        for kind, words in _HEREDOC_WORDS.items()
        for word in words
    },
    **{f"heredocs-from-line:{line}": f"{line}\nEOF\nEOF2\n-EOF\n" for line in _HEREDOC_LINES},
    **{f"json-array:{array}": f"CMD {array}" for array in _JSON_ARRAYS},
    **{f"parse-words:{words}": f"ARG {words}" for words in _PARSE_WORDS},
    **{f"directives-{i}": doc + "\nFROM a\n" for i, doc in enumerate(_DIRECTIVE_DOCS)},
    "name-val-old-format": "LABEL foo bar",
    "name-val-new-format": "LABEL foo=bar thing=star",
    "name-val-without-val": "ENV foo",
    # TestParseReturnsScannerErrors
    "scanner-error": "\n\t\tFROM image\n\t\tLABEL test=" + "a" * 65536 + "\n",
}


@pytest.mark.parametrize("text", GO_TABLE_CASES.values(), ids=GO_TABLE_CASES.keys())
def test_go_test_table_parses_like_buildkit(text: str) -> None:
    assert_same_as_buildkit(text)


# ----------------------------------------------------------------------------- (d) edge cases

EDGE_CASES: dict[str, str] = {
    # line continuations and the escape directive
    "continuation": "FROM a\nRUN apt-get update && \\\n    apt-get install -y curl\n",
    "continuation-trailing-spaces": "RUN a \\  \t\n b",
    "continuation-escaped-escape": "RUN a \\\\\nRUN b",
    "continuation-lone-escape-line": "RUN a \\\n\\\n b",
    "continuation-at-eof": "FROM a\nRUN b \\",
    "continuation-at-eof-newline": "FROM a\nRUN b \\\n",
    "only-a-continuation": "\\\n",
    "continuation-then-only-escapes": "x\\\n\\\n",
    "comment-inside-continuation": "RUN a \\\n# comment\n  b",
    "indented-comment-inside-continuation": "RUN a \\\n    # comment\n    b",
    "empty-line-inside-continuation": "RUN a \\\n\n b",
    "whitespace-line-inside-continuation": "RUN a \\\n   \t\n b",
    "comment-ends-in-escape": "# a comment \\\nFROM a",
    "escape-backtick": "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n    C:\\Windows\n",
    "escape-backtick-windows-paths": "# escape=`\nCOPY C:\\src\\ C:\\dst\\\nWORKDIR C:\\app",
    "escape-backtick-in-words": '# escape=`\nENV a=b` c d="e`"f"\nARG x=`"y',
    "escape-backslash-explicit": "# escape=\\\nFROM a \\\n b",
    "escape-upper-case-name": "# ESCAPE=`\nFROM a `\n b",
    "escape-spaces": "#   escape   =   `   \nFROM a `\n b",
    "escape-after-syntax": "# syntax=docker/dockerfile:1\n# escape=`\nFROM a `\n b",
    "escape-after-blank-line": "\n# escape=`\nFROM a `\n b",
    "escape-after-comment": "# hello\n# escape=`\nFROM a `\n b",
    "escape-after-check": "# check=skip=all\n# escape=`\nFROM a `\n b",
    "escape-after-instruction": "FROM a\n# escape=`\nRUN b `\n c",
    "escape-nbsp-after-hash": "#\u00a0escape=`\nFROM a `\n b",
    "escape-vertical-tab-after-hash": "#\vescape=`\nFROM a `\n b",
    "escape-invalid": "# escape=x\nFROM a",
    "escape-empty-value": "# escape= \nFROM a",
    "escape-twice": "# escape=`\n# escape=`\nFROM a",
    "syntax-twice": "# syntax=a\n# SYNTAX=b\nFROM a",
    "escape-backtick-flags-keep-backslash": "# escape=`\nRUN --mount=a\\ b c",
    # line endings, byte-order mark, whitespace, unicode
    "crlf": "FROM a\r\nRUN b \\\r\n c\r\nRUN <<E\r\nx\r\nE\r\n",
    "cr-inside-line": "RUN a\rb \\\r\n c",
    "bom": "\ufeffFROM a\nRUN b",
    "bom-before-directive": "\ufeff# escape=`\nFROM a `\n b",
    "two-boms": "\ufeff\ufeffFROM a",
    "bom-not-first-line": "FROM a\n\ufeffRUN b",
    "whitespace-only-lines": "   \n\t\nFROM a\n  \t \nRUN b\n   ",
    "indented-instructions": "   FROM a\n\tRUN b",
    "unicode-values": 'FROM a\nLABEL description="café ☕ 日本語"\nRUN echo ✓ — done\nENV π=3.14',
    "unicode-spaces-in-words": "ENV a=b\u3000c=d\nARG x\u00a0y\nLABEL k=v\u2003l=w",
    "unicode-space-in-command": "RUN\u00a0a\nFROM\u2003b",
    "dotted-capital-i-dispatch": "MAİNTAINER me\nWORKDİR /a",
    "kelvin-sign-dispatch": "WORKDIR /a\nWOR\u212aDIR /b",
    "unicode-flag-mojibake": "COPY --from=é a b\nRUN --mount=target=/ü x",
    "vertical-tab-form-feed": "RUN\va\fb\nFROM\tc\v d",
    "file-separator-is-not-space": "ENV a=b\x1cc=d",
    "long-line": "FROM a\nRUN " + "x" * 65000 + "\n",
    "line-at-the-limit": "FROM " + "a" * 65530 + "\n",
    "line-over-the-limit": "FROM a\nRUN " + "b" * 70000 + "\n",
    "last-line-over-the-limit-by-one": "FROM " + "a" * 65531,
    "long-line-in-heredoc": "RUN <<EOF\n" + "b" * 70000 + "\n",
    "multibyte-line-over-the-limit": "FROM a\nRUN " + "é" * 33000 + "\n",
    # heredocs
    "heredoc-run": "FROM a\nRUN <<EOF\necho hi\necho there\nEOF\n",
    "heredoc-chomp": "RUN <<-EOF\n\techo hi\n\t\tEOF\n\tEOF\n",
    "heredoc-chomp-no-tabs-terminator": "RUN <<-EOF\n\tx\nEOF",
    "heredoc-no-chomp-tab-terminator": "RUN <<EOF\n\tEOF\nEOF\n",
    "heredoc-single-quoted": "RUN <<'EOF'\necho $HOME\nEOF\n",
    "heredoc-double-quoted": 'RUN <<"EOF"\necho $HOME\nEOF\n',
    "heredoc-partly-quoted": "RUN <<E'O'F\nx\nEOF\n",
    "heredoc-two-in-one-run": "RUN <<A bash && <<B sh\necho a\nA\necho b\nB\n",
    "heredoc-copy": "FROM a\nCOPY <<EOF /etc/app.conf\nkey=value\nEOF\n",
    "heredoc-copy-two-files": "COPY <<one <<two /dest/\n1\none\n2\ntwo\n",
    "heredoc-add": "ADD <<EOF /x\ny\nEOF\n",
    "heredoc-with-flags": "RUN --mount=type=cache,target=/root/.cache <<EOF\npip install x\nEOF\n",
    "heredoc-fd": "RUN 3<<EOF\nx\nEOF\n",
    "heredoc-huge-fd": "RUN 99999999999999999999<<E\nE\n",
    "heredoc-unterminated": "FROM a\nRUN <<EOF\necho hi\n",
    "heredoc-second-unterminated": "RUN <<A <<B\na\nA\nb\n",
    "heredoc-crlf-terminator": "RUN <<EOF\r\nhi\r\nEOF\r\n",
    "heredoc-in-json-form": 'RUN ["<<EOF"]\nEOF\n',
    "heredoc-in-cmd-is-not": "CMD <<EOF\nEOF\n",
    "heredoc-on-onbuild": "ONBUILD RUN <<EOF\necho hi\nEOF\nFROM a",
    "heredoc-unclosed-quote-on-line": 'RUN <<"EOF\nEOF',
    "heredoc-name-with-dollar": "RUN <<$EOF\n$EOF\n",
    "heredoc-name-braces": "RUN <<${EOF}\n${EOF}\n",
    "heredoc-name-default": "RUN <<${EOF:-x}\n${EOF:-x}\n",
    "heredoc-bad-substitution": "RUN <<${a:- b}",
    "heredoc-name-with-bom": "RUN <<\ufeffEOF\nEOF",
    "heredoc-space-after-arrows": "RUN <<  EOF\nEOF",
    "heredoc-attached-to-word": "RUN cat<<EOF\nEOF",
    "heredoc-content-has-comments-and-continuations": "RUN <<EOF\n# not a comment \\\n\nEOF\n",
    "heredoc-then-continuation-line": "RUN <<EOF \\\n && echo done\nx\nEOF\n",
    # JSON (exec) form and shell form
    "json-cmd": 'CMD ["python", "-m", "app"]',
    "json-escapes": 'CMD ["a\\"b", "c\\\\d", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\/"]',
    "json-single-quotes-is-shell": "CMD ['a', 'b']",
    "json-unterminated-is-shell": 'CMD ["a", "b"',
    "json-trailing-text-ignored": 'CMD ["a"] && echo ignored',
    "json-trailing-comma-is-shell": 'CMD ["a",]',
    "json-numbers-error": 'ENTRYPOINT ["a", 1]',
    "json-number-too-big-is-shell": 'CMD ["a", 1e400]',
    "json-nested-error": 'CMD ["a", ["b"]]',
    "json-object-is-shell": 'CMD {"a": "b"}',
    "json-control-char-is-shell": 'CMD ["a\tb"]',
    "json-nan-is-shell": "CMD [NaN]",
    "json-empty": "CMD []\nENTRYPOINT [ ]",
    "json-shell-instruction": 'SHELL ["powershell", "-Command"]',
    "json-copy-list": 'COPY ["a b", "/c d/"]\nVOLUME ["/data", "/logs"]',
    "json-with-flags": 'COPY --chown=1:1 ["a", "b"]',
    "shell-copy-list": "COPY a b c/\nVOLUME /data /logs\nADD --chmod=644 x y",
    "empty-arguments": "CMD\nRUN  \nENTRYPOINT\nCOPY\nUSER\nFROM\nLABEL\nARG\nONBUILD\nHEALTHCHECK",
    # flags
    "flags-from-platform": "FROM --platform=$BUILDPLATFORM ${IMG} AS Base",
    "flags-quoted": 'RUN --mount="type=secret,id=a b" --network=none echo',
    "flags-double-dash-ends": "RUN --a -- --b c",
    "flags-only": "RUN --a --b",
    "flags-single-dash": "RUN -a --b",
    "flags-escaped-space": "RUN --a\\ b c",
    "flags-trailing-escape": "COPY --a\\",
    # instructions
    "arg-before-from": "ARG BASE=python:3.11-slim\nARG TAG\nFROM ${BASE}:${TAG} AS build",
    "arg-quoted": "ARG a=\"b c\" d='e f' g",
    "onbuild": "ONBUILD RUN make\nONBUILD COPY --from=x a b\nonbuild add . /app",
    "onbuild-json": 'ONBUILD CMD ["a"]',
    "onbuild-flags": "ONBUILD --x RUN y",
    "onbuild-onbuild": "ONBUILD ONBUILD RUN x",
    "healthcheck": "HEALTHCHECK --interval=5s --timeout=3s CMD curl -f http://localhost/ || exit 1",
    "healthcheck-json": 'HEALTHCHECK CMD ["curl", "-f", "http://x/"]',
    "healthcheck-none": "HEALTHCHECK NONE",
    "healthcheck-tabs": "HEALTHCHECK\tCMD\t\tx",
    "env-new-form": "ENV a=b c=d",
    "env-old-form": "ENV a b c",
    "env-quoted": "ENV a=\"b c\" d=e\\ f g='h'",
    "env-missing-equals": "ENV a=b c",
    "env-no-value": "ENV a",
    "label-multi": 'LABEL a=1 \\\n      b="two words" \\\n      "c d"=3',
    "label-old-form": "LABEL maintainer me@example.com",
    "maintainer": "MAINTAINER Jane Doe <jane@example.com>",
    "expose-and-stopsignal": "EXPOSE 80 443/tcp\nSTOPSIGNAL SIGTERM\nUSER app:app\nWORKDIR /srv",
    "lower-case-commands": "from a as b\nrun c\ncopy d e",
    "unknown-instruction": "FOO bar baz\nFROM a",
    # whole-file errors
    "empty": "",
    "only-comments": "# a\n# b\n",
    "only-blank-lines": "\n\n  \n",
}


@pytest.mark.parametrize("text", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_case_parses_like_buildkit(text: str) -> None:
    assert_same_as_buildkit(text)


# ----------------------------------------------------------------------------- random documents

_FRAGMENTS = [
    *("FROM", "RUN", "run", "COPY", "ADD", "ENV", "LABEL", "ARG", "CMD", "ENTRYPOINT", "ONBUILD"),
    *("HEALTHCHECK", "SHELL", "VOLUME", "EXPOSE", "USER", "WORKDIR", "MAINTAINER", "FOO", "NONE"),
    *(" ", " ", "\t", "\\", "\\", "`", "\n", "\n", "\r\n", "\n\n", " \\\n", "`\n", "\n#c\n"),
    *("# escape=`\n", "# escape=\\\n", "# syntax=x\n", "#", "\n  \n", "\x0b", "\u3000", "é"),
    *("<<", "<<-", "EOF", "\nEOF\n", "\tEOF", "2<<", "'", '"', "$", "${", "}", ":-", "=", "a=b"),
    *("[", "]", ",", '"a"', "1", "null", "{", "\\u0041", "\\ud800", "\\n", "--from=x", "--", "-"),
    *("a", "b", "x y", ";", "&&", "\ufeff", "\u0130"),
]


def _random_dockerfile(rng: random.Random) -> str:
    return "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 30)))


@pytest.mark.parametrize("chunk", range(20), ids=lambda chunk: f"seeds-{chunk * 100}")
def test_random_documents_parse_like_buildkit(chunk: int) -> None:
    for seed in range(chunk * 100, chunk * 100 + 100):
        text = _random_dockerfile(random.Random(seed))
        try:
            assert_same_as_buildkit(text)
        except AssertionError as err:
            raise AssertionError(f"seed {seed}: {text!r}") from err


# ----------------------------------------------------------------------------- the port's own API


def test_directives_are_reported_lower_case() -> None:
    parsed = parse_string("# Syntax=docker/dockerfile:1.7\n# ESCAPE=`\nFROM a `\n  AS b\n")
    assert parsed.directives == {"syntax": "docker/dockerfile:1.7", "escape": "`"}
    assert parsed.commands[0].value == ("a", "AS", "b")


def test_directives_end_at_the_first_other_line() -> None:
    # BuildKit v0.12.5 knows `syntax` and `escape` only: `# check=` is a comment and ends them.
    assert parse_string("# check=skip=all\n# escape=`\nFROM a").directives == {}
    assert parse_string("FROM a\n# escape=`\n").directives == {}
    assert parse_string("\n# syntax=x\nFROM a").directives == {}


def test_warnings_name_the_instruction_with_empty_continuation_lines() -> None:
    parsed = parse_string("FROM a\nRUN one \\\n\n    two\nRUN three \\\n# comment\n  four\n")
    assert parsed.warnings == ("Empty continuation line found in: RUN one     two",)


def test_line_numbers_match_buildkits_own_test() -> None:
    # parser_test.go TestParseIncludesLineNumbers
    text = (CORPUS / "buildkit" / "testfile-line" / "Dockerfile").read_text(encoding="utf-8")
    lines = [(c.start_line, c.end_line) for c in parse_string(text).commands]
    assert lines == [(5, 5), (11, 12), (17, 31)]


def test_heredoc_lines_count_toward_the_instruction() -> None:
    parsed = parse_string("FROM a\nRUN <<A <<-B\na\nA\n\tb\n\tB\nUSER x\n")
    run, user = parsed.commands[1:]
    assert (run.start_line, run.end_line, user.start_line) == (2, 6, 7)
    assert run.heredocs == (Heredoc("A", 0, "a\n"), Heredoc("B", 0, "\tb\n"))
    assert run.original == "RUN <<A <<-B\na\nA\n\tb\nB\n"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("", "file with no instructions", 1),
        ("# only\n# comments\n", "file with no instructions", 2),
        ("# escape=x\nFROM a", "invalid escape token 'x' does not match ` or \\", 1),
        ("# escape=`\n# escape=`\nFROM a", "only one escape parser directive can be used", 2),
        ("FROM a\n\nENV a", "ENV must have two arguments", 3),
        ("FROM a\nRUN <<EOF\nno end\n", "unterminated heredoc", 2),
        ('FROM a\nCMD ["a", \\\n 1]', "when using JSON array syntax", 2),
        ("FROM a\nRUN " + "b" * 70000 + "\nRUN c", "dockerfile line greater than", 2),
    ],
    ids=["empty", "comments", "escape", "escape-twice", "env", "heredoc", "json", "too-long"],
)
def test_errors_carry_the_line_at_fault(text: str, message: str, line: int) -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_string(text)
    assert str(caught.value).startswith(message)
    assert caught.value.line == line


def test_results_are_frozen_and_comparable() -> None:
    first, second = parse_string("FROM a\n"), parse_string("FROM a\n")
    assert isinstance(first, ParsedDockerfile)
    assert first == second
    assert hash(first.commands) == hash(second.commands)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.commands[0].cmd = "RUN"  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.directives["escape"] = "`"  # type: ignore[index]
