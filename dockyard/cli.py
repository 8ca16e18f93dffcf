"""The `dockyard` command: Invoke's Program with dockyard's tasks, run in the current directory.

Invoke has no optional positional arguments (pyinvoke/invoke#159), so `size`, `history`,
`inspect-layers` and `logs` take their name as a flag (`--image`, `--service`). This program
also accepts it as the first word after the task that is neither a flag, a flag's value, nor a
task name: `dockyard inspect-layers backend` means `dockyard inspect-layers --image backend`,
while `dockyard size history` still runs `size`, then `history`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from invoke.collection import Collection
from invoke.parser.context import ParserContext
from invoke.program import Program

from dockyard import __version__

# task name -> the flag its optional positional stands for
OPTIONAL_POSITIONALS: Mapping[str, str] = {
    "logs": "--service",
    "size": "--image",
    "history": "--image",
    "inspect-layers": "--image",
}


def with_positionals_as_flags(
    argv: Sequence[str],
    contexts: Sequence[ParserContext],
    optional: Mapping[str, str] = OPTIONAL_POSITIONALS,
) -> list[str]:
    """`argv` (the words after the core flags) with each optional positional made a flag."""
    by_name: dict[str, ParserContext] = {}
    for context in contexts:
        for name in (context.name, *context.aliases):
            by_name[str(name)] = context
    words = list(argv)
    result: list[str] = []
    current: ParserContext | None = None
    filled = True
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word in by_name and not (current is not None and _expects_value(result, current)):
            current = by_name[word]
            filled = word not in optional and current.name not in optional
            result.append(word)
            continue
        if current is None or word.startswith("-") or word == "--":
            if current is not None and not filled and _names_flag(word, current, optional):
                filled = True  # given as a flag already
            result.append(word)
            if word == "--":  # the rest belongs to the task's own remainder
                result += words[index:]
                break
            continue
        if _expects_value(result, current):
            result.append(word)
            continue
        if not filled:
            result += [optional.get(str(current.name), "--image"), word]
            filled = True
            continue
        result.append(word)
    return result


def _names_flag(word: str, context: ParserContext, optional: Mapping[str, str]) -> bool:
    """Whether `word` is the task's optional-positional flag itself (or its short alias)."""
    wanted = context.flags.get(optional.get(str(context.name), ""))
    return wanted is not None and context.flags.get(word.split("=", 1)[0]) is wanted


def _expects_value(done: Sequence[str], context: ParserContext) -> bool:
    """Whether the last word is a flag of `context` that takes a value (`--top 3`)."""
    if not done or not done[-1].startswith("-") or "=" in done[-1]:
        return False
    argument = context.flags.get(done[-1])
    return bool(argument is not None and argument.takes_value)


class DockyardProgram(Program):
    def parse_tasks(self) -> None:
        assert self.collection is not None
        contexts = self.collection.to_contexts(ignore_unknown_help=True)
        self.core.unparsed = with_positionals_as_flags(self.core.unparsed, contexts)
        super().parse_tasks()


def program(namespace: Collection | None = None) -> DockyardProgram:
    from dockyard.tasks import namespace as dockyard_namespace

    return DockyardProgram(
        namespace=namespace if namespace is not None else dockyard_namespace(),
        version=__version__,
        name="dockyard",
        binary="dockyard",
    )


def main() -> None:
    try:
        program().run()
    except BrokenPipeError:  # `dockyard --list | head`: the reader left, nothing to report
        sys.stderr.close()
