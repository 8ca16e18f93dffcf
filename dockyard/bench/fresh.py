"""A fresh machine on a shared engine: which build-cache records one build made, told apart from
every other build's, so the benchmark can remove exactly those and build again from the team
cache alone.

A bench build with a CACHE_ID of its own gets cache keys no other build has (BuildKit puts a
stage's ARGs into every RUN's environment, so every step after `ARG CACHE_ID` is new). The
records it makes are therefore the ones that were not there before it and hang, through their
`Parent`, from no record another build made meanwhile. A concurrent build of the same
Dockerfile would make look-alike records: then nothing is removed and the repetition is not
measured, rather than guess.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# `docker system df -v` describes the result of a RUN as `mount / from exec <command>` (the
# shell form's command after `/bin/sh -c `); other steps by their vertex name.
_EXEC = "mount / from exec "
_SHELL = "/bin/sh -c "


@dataclass(frozen=True)
class MadeRecords:
    """The records one build made (removal order: children before their parent)."""

    ids: tuple[str, ...] = ()
    matched_steps: int = 0  # executed steps a record was found for
    ambiguous: tuple[str, ...] = ()  # steps look-alike records of another build also match

    @property
    def found(self) -> bool:
        return bool(self.ids) and not self.ambiguous


def _words(text: str) -> str:
    return " ".join(text.split())


def record_matches(description: str, step_name: str) -> bool:
    """Whether a build-cache record's description is the result of this stream step.

    `[runtime 4/7] COPY requirements.txt /tmp/deps/` is described by its own name; a RUN step
    (`[runtime 5/7] RUN --mount=... export X=1 && ...`) by `mount / from exec /bin/sh -c
    export X=1 && ...`, its continuation lines joined the same way up to whitespace.
    """
    if not description.startswith(_EXEC):
        return description == step_name
    command = _words(description.removeprefix(_EXEC).removeprefix(_SHELL))
    return bool(command) and " RUN " in f" {step_name} " and _words(step_name).endswith(command)


def _trees(new: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """New records grouped by the record they hang from: each tree listed children first."""
    children: dict[str, list[str]] = {}
    roots = []
    for record_id, record in new.items():
        parent = str(record.get("Parent") or "")
        if parent in new:
            children.setdefault(parent, []).append(record_id)
        else:
            roots.append(record_id)

    def leaves_first(record_id: str) -> list[str]:
        order = []
        for child in sorted(children.get(record_id, ())):
            order += leaves_first(child)
        return [*order, record_id]

    return [leaves_first(root) for root in sorted(roots)]


def records_made(
    before: Collection[str],
    after: Iterable[Mapping[str, Any]],
    executed_steps: Sequence[str],
) -> MadeRecords:
    """The layer records (`regular`) a build made: new since `before` (record ids), in a tree
    of new records that holds a result of one of the build's `executed_steps` (stream names of
    the steps that ran). Cache mounts and context records are not layers: left out here."""
    new = {
        str(r.get("ID")): r
        for r in after
        if str(r.get("ID")) not in before and r.get("CacheType") == "regular"
    }
    trees = _trees(new)
    owners: dict[str, list[int]] = {}
    for index, tree in enumerate(trees):
        descriptions = [str(new[record_id].get("Description") or "") for record_id in tree]
        for step in executed_steps:
            if any(record_matches(text, step) for text in descriptions):
                owners.setdefault(step, []).append(index)
    ambiguous = tuple(step for step, found in owners.items() if len(found) > 1)
    if ambiguous:
        return MadeRecords(matched_steps=len(owners), ambiguous=ambiguous)
    mine = sorted({index for found in owners.values() for index in found})
    ids = tuple(record_id for index in mine for record_id in trees[index])
    return MadeRecords(ids, len(owners))


def not_fresh(shared_steps: int, made: MadeRecords) -> str:
    """Why the export build's engine cannot be made a fresh machine ('' when it can)."""
    if shared_steps:
        # Its cache keys are other builds' too: their records would still serve it.
        return (
            f"{shared_steps} of its steps came from the local cache, shared with other builds "
            "(they do not depend on CACHE_ID; declare `ARG CACHE_ID` at the top of every "
            "stage to measure it)"
        )
    if made.ambiguous:
        return (
            "another build of the same steps ran meanwhile: its build-cache records cannot be "
            "told apart from this run's"
        )
    if not made.found:
        return "its export build left no build-cache record to remove"
    return ""


def mount_records(records: Iterable[Mapping[str, Any]], cache_id: str) -> list[str]:
    """Ids of the cache-mount records of one CACHE_ID (`<id>-uv`, `<id>-venv`, ...)."""
    from dockyard.bench.leftovers import mount_id

    return [
        str(r.get("ID"))
        for r in records
        if (found := mount_id(r)) is not None and found.startswith(f"{cache_id}-")
    ]


_LAYERS = ("RUN", "COPY", "ADD", "WORKDIR")  # the instructions that make a cached step


def shared_step(text: str, build_args: Mapping[str, str]) -> str:
    """Why a Dockerfile's cache cannot be made its own by CACHE_ID ('' when it can): the first
    step of a stage that comes before `ARG CACHE_ID` and a RUN has the cache key of every
    other build of it, and a record another build made would serve it on the fresh machine."""
    from dockyard.dockerfile import DockerfileSyntaxError, Stage, parse, parse_arg

    try:
        dockerfile = parse(text)
    except DockerfileSyntaxError as err:
        return f"its Dockerfile does not parse ({err})"
    verdicts: dict[int, str] = {}

    def stage_problem(stage: Stage) -> str:
        if stage.index in verdicts:
            return verdicts[stage.index]
        verdicts[stage.index] = ""  # a cycle (none in a valid Dockerfile) is not a problem
        parent = dockerfile.parent(stage, build_args)
        if isinstance(parent, Stage) and not stage_problem(parent):
            return ""  # it continues a stage whose keys are its own
        declared = False
        problem = ""
        for ins in stage.instructions:
            if ins.keyword == "ARG" and "CACHE_ID" in {n for n, _ in parse_arg(ins.args)}:
                declared = True
            elif ins.keyword in _LAYERS:
                source = next(
                    (f.partition("=")[2] for f in ins.flags if f.startswith("--from=")), ""
                )
                used = dockerfile.stage_named(source, before=stage.index) if source else None
                if (ins.keyword == "RUN" and declared) or (
                    used is not None and not stage_problem(used)
                ):
                    break
                problem = (
                    f"`{_words(ins.raw)[:60]}` (stage {stage.label}) runs before `ARG CACHE_ID`"
                )
                break
        verdicts[stage.index] = problem
        return problem

    for stage in dockerfile.needed_stages(None, build_args):
        problem = stage_problem(stage)
        if problem:
            return problem
    return ""
