"""A pure-Python port of BuildKit's Dockerfile parser (`frontend/dockerfile/parser`).

It follows moby/buildkit v0.12.5, the version that the PyPI package `dockerfile` 3.4.0 vendors,
and returns the values that package returns. `tests/unit/test_dockerfile_parser.py` compares
the two on a corpus. Comments marked "HEAD:" say where later BuildKit parses differently.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Command", "DockerfileSyntaxError", "Heredoc", "ParsedDockerfile", "parse_string"]


@dataclass(frozen=True)
class Heredoc:
    name: str
    file_descriptor: int
    content: str


@dataclass(frozen=True)
class Command:
    cmd: str
    sub_cmd: str | None
    json: bool
    original: str
    start_line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]
    heredocs: tuple[Heredoc, ...]


@dataclass(frozen=True)
class ParsedDockerfile:
    commands: tuple[Command, ...]
    directives: Mapping[str, str] = field(hash=False)
    warnings: tuple[str, ...]


class DockerfileSyntaxError(ValueError):
    """What BuildKit rejects; the message is Go's, `line` is the 1-based line at fault."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _GoError(Exception):
    """An error message from the Go code, before a line is attached."""


# unicode.IsSpace; str.isspace() differs (it also takes U+001C..U+001F).
_GO_SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_GO_SPACE_SET = frozenset(_GO_SPACES)
# unicode.IsSpace(rune(b)) for one byte b, where Go walks a string byte by byte.
_BYTE_SPACE_SET = frozenset("\t\n\v\f\r \x85\xa0")
_RE_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
# Go's \s is [\t\n\f\r ]; Python's also takes \v and Unicode spaces.
_RE_DIRECTIVE = re.compile(
    r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z"
)
# HEAD: `<<` may be followed by whitespace (`^(\d*)<<(-?)\s*([^<]*)$`).
_RE_HEREDOC = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z")
_VALID_DIRECTIVES = ("syntax", "escape")  # HEAD: also "check"; here `# check=` ends directives.
_HEREDOC_COMMANDS = frozenset({"add", "copy", "run"})
_MAX_TOKEN = 64 * 1024  # bufio.MaxScanTokenSize
_EOF = ""  # the lexer's scanner.EOF


def _go_lower(s: str) -> str:
    # strings.ToLower maps U+0130 to a plain "i"; str.lower() adds a combining dot.
    return s.lower() if s.isascii() else s.replace("\u0130", "i").lower()


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _go_quote(s: str) -> str:
    """strconv.Quote, as `%q` prints a string."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _as_bytes(s: str) -> str:
    """The UTF-8 bytes of s, one character each, for Go code that indexes bytes."""
    return s if s.isascii() else s.encode("utf-8", "surrogatepass").decode("latin-1")


def _from_bytes(b: str, was_ascii: bool) -> str:
    # Go may cut inside a character here; the oracle then fails to decode, we say U+FFFD.
    return b if was_ascii else b.encode("latin-1").decode("utf-8", "replace")


class _Directives:
    """The parser directives at the top of a file (`# escape=`, `# syntax=`)."""

    def __init__(self) -> None:
        self.escape = "\\"
        self.found: dict[str, str] = {}
        self._done = False

    def parse_line(self, token: str) -> None:
        if self._done:
            return
        match = _RE_DIRECTIVE.match(token)
        name = match[1].lower() if match else ""
        if match is None or name not in _VALID_DIRECTIVES:
            self._done = True
            return
        if name in self.found:
            raise _GoError(f"only one {name} parser directive can be used")
        value = match[2]
        self.found[name] = value
        if name == "escape":
            if value not in ("`", "\\"):
                raise _GoError(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value


@dataclass
class _Node:
    cmd: str
    key: str  # the lower-cased command, as dispatched
    original: str
    flags: tuple[str, ...]
    values: tuple[str, ...]
    json: bool
    sub: _Node | None = None  # ONBUILD's instruction
    heredocs: list[Heredoc] = field(default_factory=list)


# --- lines ------------------------------------------------------------------------------------


def _scan_lines(text: str) -> tuple[list[str], bool]:
    """Lines with their endings, as bufio.Scanner with scanLines gives them, and whether the
    scanner stopped at a line longer than its buffer (the lines are cut before it)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    for index, line in enumerate(lines):
        if len(line) >= _MAX_TOKEN // 4:
            size = len(line.encode("utf-8", "surrogatepass"))
            # The newline may fill the buffer's last byte; a last line without one may not.
            if size > (_MAX_TOKEN if line.endswith("\n") else _MAX_TOKEN - 1):
                return lines[:index], True
    return lines, False


def _process_line(d: _Directives, raw: str, strip_left: bool) -> str:
    token = raw.rstrip("\r\n")
    if strip_left:
        token = token.lstrip(_GO_SPACES)
    d.parse_line(token)
    return "" if token.startswith("#") else token


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    r"""Drop a trailing escape token (the continuation); True when the line ends here.

    Go's regex `([^\\])\\[ \t]*$|^\\[ \t]*$`: an escaped escape token (`\\`) does not continue.
    """
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape) and (len(stripped) == 1 or stripped[-2] != escape):
        return stripped[:-1], False
    return line, True


def _is_comment(raw: str) -> bool:
    return raw.lstrip(_GO_SPACES).startswith("#")


# --- one instruction --------------------------------------------------------------------------


def _split_command(line: str) -> tuple[str, tuple[str, ...], str]:
    cmdline = _RE_WHITESPACE.split(line.strip(_GO_SPACES), maxsplit=1)
    if len(cmdline) < 2:
        return cmdline[0], (), ""
    args, flags = _extract_builder_flags(cmdline[1])
    return cmdline[0], flags, args.strip(_GO_SPACES)


def _extract_builder_flags(line: str) -> tuple[str, tuple[str, ...]]:
    """Leading `--flag` words and the rest of the line.

    Go walks bytes here: a non-ASCII flag comes back as Latin-1 mojibake (`é` -> `Ã©`), and the
    escape is always a backslash (HEAD: the file's escape token).
    """
    was_ascii = line.isascii()
    s = _as_bytes(line)
    n = len(s)
    words: list[str] = []
    word: list[str] = []
    in_word = in_quote = blank_ok = False
    quote = ""
    pos = 0
    while pos <= n:
        ch = s[pos] if pos < n else ""
        if not in_word and not in_quote:
            if pos == n:
                break
            if ch in _BYTE_SPACE_SET:
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or s[pos + 1] != "-":
                return _from_bytes(s[pos:], was_ascii), tuple(words)
            in_word = True
        if pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if in_word:
            if ch in _BYTE_SPACE_SET:
                text = "".join(word)
                if text == "--":
                    return _from_bytes(s[pos:], was_ascii), tuple(words)
                if blank_ok or text:
                    words.append(text)
                word = []
                in_word = blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = in_quote = True
                in_word = False
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = s[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            in_quote = False
            in_word = True
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                in_quote = False
                in_word = True
                pos += 1
                continue
            pos += 1
            ch = s[pos]
        word.append(ch)
        pos += 1
    return "", tuple(words)


def _parse_words(rest: str, escape: str) -> list[str]:
    """Space-separated words; quotes and escape tokens stay in them."""
    words: list[str] = []
    word: list[str] = []
    phase = 0  # 0: between words, 1: in a word, 2: in quotes
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch in _GO_SPACE_SET:
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == 1:
            if ch in _GO_SPACE_SET:
                phase = 0
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = 2
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


# --- JSON (exec) form: encoding/json's Decoder, which reads one value and ignores the rest ----

_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_JSON_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_JSON_MAX_DEPTH = 10000  # encoding/json's maxNestingDepth
_NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


def _skip_json_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _json_unquote(body: str) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1]
        if esc != "u":
            out.append(_JSON_ESCAPES[esc])
            i += 2
            continue
        code = int(body[i + 2 : i + 6], 16)
        i += 6
        if 0xD800 <= code < 0xE000:
            # Go pairs surrogates and makes any other one U+FFFD.
            if 0xD800 <= code < 0xDC00 and body.startswith("\\u", i):
                low = int(body[i + 2 : i + 6], 16)
                if 0xDC00 <= low < 0xE000:
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    i += 6
                    continue
            code = 0xFFFD
        out.append(chr(code))
    return "".join(out)


def _json_object_key(s: str, i: int) -> int:
    """Index after `"key":` (and spaces) at i, or -1."""
    match = _JSON_STRING.match(s, i)
    if match is None:
        return -1
    i = _skip_json_ws(s, match.end())
    if i >= len(s) or s[i] != ":":
        return -1
    return _skip_json_ws(s, i + 1)


def _json_value_end(s: str, i: int, depth: int) -> int:
    """Index after the JSON value at i (nested `depth` deep), or -1 if it is not valid."""
    n = len(s)
    closers: list[str] = []
    while True:
        i = _skip_json_ws(s, i)
        if i >= n:
            return -1
        ch = s[i]
        if ch in "[{":
            closers.append("]" if ch == "[" else "}")
            if depth + len(closers) > _JSON_MAX_DEPTH:
                return -1
            i = _skip_json_ws(s, i + 1)
            if i < n and s[i] == closers[-1]:
                closers.pop()
                i += 1
            else:
                if ch == "{" and (i := _json_object_key(s, i)) < 0:
                    return -1
                continue
        elif ch == '"':
            match = _JSON_STRING.match(s, i)
            if match is None:
                return -1
            i = match.end()
        elif ch in "tfn":
            literal = "true" if ch == "t" else "false" if ch == "f" else "null"
            if not s.startswith(literal, i):
                return -1
            i += len(literal)
        else:
            number = _JSON_NUMBER.match(s, i)
            # A number past float64 is an error too, once the value is decoded.
            if number is None or number.end() == i or math.isinf(float(number.group())):
                return -1
            i = number.end()
        # After a value: close containers, or take a comma and go on to the next value.
        while closers:
            i = _skip_json_ws(s, i)
            if i >= n:
                return -1
            if s[i] == closers[-1]:
                closers.pop()
                i += 1
                continue
            if s[i] != ",":
                return -1
            i += 1
            if closers[-1] == "}" and (i := _json_object_key(s, _skip_json_ws(s, i))) < 0:
                return -1
            break
        else:
            return i


def _parse_json(rest: str) -> list[str] | None:
    """The strings of a JSON array at the start of rest, or None when it is not one."""
    rest = rest.lstrip(_GO_SPACES)
    if not rest.startswith("["):
        return None
    n = len(rest)
    items: list[str | None] = []
    i = _skip_json_ws(rest, 1)
    if i < n and rest[i] == "]":
        return []
    while True:
        if i >= n:
            return None
        if rest[i] == '"':
            match = _JSON_STRING.match(rest, i)
            if match is None:
                return None
            items.append(_json_unquote(match.group()[1:-1]))
            i = match.end()
        else:
            i = _json_value_end(rest, i, 1)
            if i < 0:
                return None
            items.append(None)
        i = _skip_json_ws(rest, i)
        if i >= n:
            return None
        if rest[i] == "]":
            break  # HEAD: json.Unmarshal, which rejects anything after the array.
        if rest[i] != ",":
            return None
        i = _skip_json_ws(rest, i + 1)
    strings = [item for item in items if item is not None]
    if len(strings) != len(items):
        raise _GoError(_NOT_STRING_ARRAY)
    return strings


# --- the line parsers, one per instruction ----------------------------------------------------

_Parsed = tuple[tuple[str, ...], bool]  # the values and whether they came in JSON form


def _parse_ignore(rest: str, escape: str) -> _Parsed:
    return ("",), False  # an unknown instruction still gets one empty Node


def _parse_string(rest: str, escape: str) -> _Parsed:
    return ((rest,) if rest else ()), False


def _parse_whitespace_delimited(rest: str, escape: str) -> _Parsed:
    return (tuple(_RE_WHITESPACE.split(rest)) if rest else ()), False


def _parse_maybe_json(rest: str, escape: str) -> _Parsed:
    if not rest:
        return (), False
    strings = _parse_json(rest)
    if strings is not None:
        return tuple(strings), True
    return (rest,), False


def _parse_maybe_json_to_list(rest: str, escape: str) -> _Parsed:
    strings = _parse_json(rest)
    if strings is not None:
        return tuple(strings), True
    return _parse_whitespace_delimited(rest, escape)


def _parse_name_or_name_val(rest: str, escape: str) -> _Parsed:
    return tuple(_parse_words(rest, escape)), False


def _parse_name_val(rest: str, key: str, escape: str) -> _Parsed:
    words = _parse_words(rest, escape)
    if not words:
        return (), False
    if "=" not in words[0]:  # the old form, `ENV name value`
        parts = _RE_WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _GoError(f"{key} must have two arguments")
        return (parts[0], parts[1]), False
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise _GoError(
                f"Syntax error - can't find = in {_go_quote(word)}. Must be of the form: name=value"
            )
        # HEAD: a third value after each pair, the separator ("=", or "" in the old form).
        values.extend(word.split("=", 1))
    return tuple(values), False


def _parse_env(rest: str, escape: str) -> _Parsed:
    return _parse_name_val(rest, "ENV", escape)


def _parse_label(rest: str, escape: str) -> _Parsed:
    return _parse_name_val(rest, "LABEL", escape)


def _parse_health_config(rest: str, escape: str) -> _Parsed:
    was_ascii = rest.isascii()
    s = _as_bytes(rest)  # Go walks bytes here too
    n = len(s)
    sep = 0
    while sep < n and s[sep] not in _BYTE_SPACE_SET:
        sep += 1
    start = sep
    while start < n and s[start] in _BYTE_SPACE_SET:
        start += 1
    if sep == 0:
        return (), False
    values, is_json = _parse_maybe_json(_from_bytes(s[start:], was_ascii), escape)
    return (_from_bytes(s[:sep], was_ascii), *values), is_json


_DISPATCH: dict[str, Callable[[str, str], _Parsed]] = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_whitespace_delimited,
    "from": _parse_whitespace_delimited,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}


def _node_from_line(line: str, escape: str) -> _Node:
    cmd, flags, args = _split_command(line)
    key = _go_lower(cmd)
    if key == "onbuild":
        if not args:
            return _Node(cmd, key, line, flags, (), False)
        sub = _node_from_line(args, escape)
        # Go's ONBUILD node has one Next with an empty Value that holds the sub-instruction.
        return _Node(cmd, key, line, flags, ("",), False, sub)
    values, is_json = _DISPATCH.get(key, _parse_ignore)(args, escape)
    return _Node(cmd, key, line, flags, values, is_json)


def _can_contain_heredoc(node: _Node) -> bool:
    if node.key == "onbuild" and node.sub is not None:
        node = node.sub
    return node.key in _HEREDOC_COMMANDS and not node.json


# --- heredocs: the part of BuildKit's shell lexer (shell/lex.go) that finds their names --------


class _Words:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.word = ""
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch in _GO_SPACE_SET:
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def result(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class _Lexer:
    """shell.Lex with an empty environment, SkipUnsetEnv and the backslash as escape token."""

    def __init__(self, source: str, raw_quotes: bool, raw_escapes: bool) -> None:
        self._source = source
        # text/scanner skips a byte-order mark at the very start.
        self._src = source[1:] if source.startswith("\ufeff") else source
        self._pos = 0
        self._raw_quotes = raw_quotes
        self._raw_escapes = raw_escapes

    def words(self) -> list[str]:
        try:
            return self._process_stop_on(_EOF)[1]
        except _GoError as err:
            raise _GoError(f"failed to process {_go_quote(self._source)}: {err}") from None

    def _peek(self) -> str:
        return self._src[self._pos] if self._pos < len(self._src) else _EOF

    def _next(self) -> str:
        ch = self._peek()
        if ch:
            self._pos += 1
        return ch

    def _process_stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while (ch := self._peek()) != _EOF:
            if stop and ch == stop:
                self._next()
                return "".join(result), words.result()
            if ch == "$":
                text = self._dollar()
                result.append(text)
                for c in text:
                    words.add_char(c)
            elif ch in "'\"":
                text = self._single_quote() if ch == "'" else self._double_quote()
                result.append(text)
                words.add_raw(text)
            else:
                ch = self._next()
                if ch == "\\":
                    if self._raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self._next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise _GoError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def _single_quote(self) -> str:
        quote = self._next()
        out = [quote] if self._raw_quotes else []
        while True:
            ch = self._next()
            if ch == _EOF:
                raise _GoError(
                    "unexpected end of statement while looking for matching single-quote"
                )
            if ch == "'":
                if self._raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def _double_quote(self) -> str:
        quote = self._next()
        out = [quote] if self._raw_quotes else []
        while True:
            peek = self._peek()
            if peek == _EOF:
                raise _GoError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if peek == '"':
                self._next()
                if self._raw_quotes:
                    out.append(peek)
                return "".join(out)
            if peek == "$":
                out.append(self._dollar())
                continue
            ch = self._next()
            if ch == "\\":
                if self._raw_escapes:
                    out.append(ch)
                peek = self._peek()
                if peek == _EOF:
                    continue
                if peek in '"$\\':
                    ch = self._next()
            out.append(ch)

    def _dollar(self) -> str:
        self._next()
        if self._peek() != "{":
            name = self._name()
            return "$" + name  # unset, so kept as written (`$` alone too)
        self._next()
        peek = self._peek()
        if peek == _EOF:
            raise _GoError("syntax error: missing '}'")
        if peek in "{}:":
            raise _GoError("syntax error: bad substitution")
        name = self._name()
        ch = self._next()
        modifier = ch or "\ufffd"  # string(scanner.EOF)
        if ch == "}":
            return "${" + name + "}"
        if ch and ch in ":+-?":
            if ch == ":":
                modifier += self._next() or "\ufffd"
            try:
                word = self._process_stop_on("}")[0]
            except _GoError:
                if self._peek() == _EOF:
                    raise _GoError("syntax error: missing '}'") from None
                raise
            return "${" + name + modifier + word + "}"
        raise _GoError(f"unsupported modifier ({modifier}) in substitution")

    def _name(self) -> str:
        out: list[str] = []
        while (ch := self._peek()) != _EOF:
            if not out and ch.isdecimal():
                while (digit := self._peek()) != _EOF and digit.isdecimal():
                    out.append(self._next())
                return "".join(out)
            if not out and ch in "@*#?-$!0":
                return self._next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out.append(self._next())
        return "".join(out)


def _heredocs_from_line(line: str) -> list[tuple[str, int, bool]]:
    """(name, file descriptor, chomp) of each heredoc that the instruction line opens."""
    if "<<" not in line:
        return []
    try:
        words = _Lexer(line, raw_quotes=True, raw_escapes=True).words()
    except _GoError:
        return []  # Go ignores this error: such a line opens no heredoc
    docs: list[tuple[str, int, bool]] = []
    for word in words:
        match = _RE_HEREDOC.match(word)
        if match is None or not match[3]:
            continue
        rest = match[3]
        # strconv.ParseUint saturates; its error is ignored.
        fd = min(int(match[1]), 2**64 - 1) if match[1] else 0
        names = _Lexer(rest, raw_quotes=False, raw_escapes=False).words()
        if len(names) != 1:
            continue
        if len(_Lexer(rest, raw_quotes=True, raw_escapes=False).words()) != 1:
            raise _GoError(f"internal lexing of heredoc produced inconsistent results: {rest}")
        docs.append((names[0], fd, match[2] == "-"))
    return docs


# --- the file ---------------------------------------------------------------------------------


def _command(node: _Node, start: int, end: int) -> Command:
    """The PyPI package's view of a node: for ONBUILD, the sub-instruction's fields."""
    inner, sub_cmd = node, None
    if node.sub is not None:
        inner, sub_cmd = node.sub, node.sub.cmd
    # Heredocs hang on the top node, but the package reads the inner one's: ONBUILD shows none.
    original = node.original
    if inner.heredocs:
        original += "\n" + "".join(doc.content + doc.name + "\n" for doc in inner.heredocs)
    return Command(
        cmd=node.cmd,
        sub_cmd=sub_cmd,
        json=inner.json,
        original=original,
        start_line=start,
        end_line=end,
        flags=node.flags,
        value=inner.values,
        heredocs=tuple(inner.heredocs),
    )


def parse_string(text: str) -> ParsedDockerfile:
    """Parse a Dockerfile as BuildKit does; DockerfileSyntaxError for what BuildKit rejects."""
    lines, too_long = _scan_lines(text)
    d = _Directives()
    commands: list[Command] = []
    warnings: list[str] = []
    count = len(lines)
    index = 0  # lines consumed, which is Go's currentLine
    while index < count:
        raw = lines[index]
        if index == 0:
            raw = raw.removeprefix("\ufeff")
        try:
            token = _process_line(d, raw, strip_left=True)
        except _GoError as err:
            raise DockerfileSyntaxError(str(err), index + 1) from None
        index += 1
        start = index
        line, end_of_line = _trim_continuation(token, d.escape)
        if end_of_line and not line:
            continue
        parts = [line]
        empty_continuation = False
        while not end_of_line and index < count:
            raw = lines[index]
            try:
                token = _process_line(d, raw, strip_left=False)
            except _GoError as err:
                raise DockerfileSyntaxError(str(err), index + 1) from None
            index += 1
            if _is_comment(raw):
                continue
            if not token.lstrip(_GO_SPACES):
                empty_continuation = True
                continue
            token, end_of_line = _trim_continuation(token, d.escape)
            parts.append(token)
        line = "".join(parts)
        if empty_continuation:
            warnings.append("Empty continuation line found in: " + line)
        try:
            node = _node_from_line(line, d.escape)
            heredocs = _heredocs_from_line(line) if _can_contain_heredoc(node) else []
        except _GoError as err:
            raise DockerfileSyntaxError(str(err), start) from None
        for name, fd, chomp in heredocs:
            content: list[str] = []
            while index < count:
                raw = lines[index]
                index += 1
                candidate = raw.rstrip("\r\n")
                if chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == name:
                    break
                content.append(raw)
            else:
                raise DockerfileSyntaxError("unterminated heredoc", start)
            node.heredocs.append(Heredoc(name, fd, "".join(content)))
        commands.append(_command(node, start, index))
    if not commands:
        raise DockerfileSyntaxError("file with no instructions", max(index, 1))
    if too_long:
        message = f"dockerfile line greater than max allowed size of {_MAX_TOKEN - 1}"
        raise DockerfileSyntaxError(message, count + 1)
    return ParsedDockerfile(
        commands=tuple(commands),
        directives=types.MappingProxyType(dict(d.found)),
        warnings=tuple(warnings),
    )
