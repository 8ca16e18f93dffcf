"""The build cache's records as `docker buildx du` lists them, in the shape `docker system df -v
--format '{{json .BuildCache}}'` gives them: `ID`, `Parent` (ids joined by ", "), `CacheType`,
`Description`, `CreatedAt`, `Size`, `Shared`, `Reclaimable`, `UsageCount` (all strings).

buildx prints JSON lines from 0.28 (`--format json`); before that only `--verbose` text, one
`Key:<tabs>value` line per field, a blank line after each record, and a summary (`Shared:`,
`Private:`, `Reclaimable:`, `Total:`) after the last one when no filter was given. Without
buildx, `docker system df -v` is the only listing (`parse_system_df`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# `docker buildx du --format json` arrives in buildx 0.28 (docker/buildx commands/diskusage.go).
DU_JSON = (0, 28)

# --verbose's field names -> system df's keys.
_VERBOSE_KEYS = {
    "ID": "ID",
    "Parent": "Parent",
    "Parents": "Parent",
    "Created at": "CreatedAt",
    "Mutable": "Mutable",
    "Reclaimable": "Reclaimable",
    "Shared": "Shared",
    "Size": "Size",
    "Description": "Description",
    "Usage count": "UsageCount",
    "Last used": "LastUsedSince",
    "Type": "CacheType",
}
_FIELD = re.compile(r"^(?P<key>[A-Z][A-Za-z]*(?: [a-z]+)?):(?:\t+|\s+|$)(?P<value>.*)$")
_SUMMARY = ("Shared", "Private", "Reclaimable", "Total")


def listing(
    buildx: tuple[int, ...],
) -> tuple[tuple[str, ...], Callable[[str], list[dict[str, Any]]]]:
    """The docker arguments that list the build cache with this buildx version (`()`: no
    buildx), and the parser of what they print."""
    if not buildx:
        return ("system", "df", "-v", "--format", "{{json .BuildCache}}"), parse_system_df
    if buildx >= DU_JSON:
        return ("buildx", "du", "--format", "json"), parse_du_json
    return ("buildx", "du", "--verbose"), parse_du_verbose


def _normal(record: dict[str, Any]) -> dict[str, str]:
    """Every value a string, as system df gives them (`"false"`, `"1"`); Parent always set."""
    out = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in record.items()}
    out.setdefault("Parent", "")
    out.setdefault("Description", "")
    return out


def parse_system_df(text: str) -> list[dict[str, Any]]:
    """`docker system df -v --format '{{json .BuildCache}}'`: one JSON array (or `null`)."""
    text = text.strip()
    return [] if not text or text == "null" else [dict(r) for r in json.loads(text)]


def parse_du_json(text: str) -> list[dict[str, str]]:
    """`docker buildx du --format json` (buildx 0.28+): one JSON object per line."""
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        parents = raw.pop("Parents", None) or []
        raw["Parent"] = ", ".join(str(p) for p in parents)
        raw["CacheType"] = raw.pop("Type", "")
        if "LastUsedAt" in raw:  # buildx prints "3 hours ago" here; system df calls it Since
            raw["LastUsedSince"] = raw.pop("LastUsedAt")
        records.append(_normal(raw))
    return records


def parse_du_verbose(text: str) -> list[dict[str, str]]:
    """`docker buildx du --verbose`, the only listing buildx before 0.28 prints.

    A record starts at its `ID:` line. buildx 0.28+ prints `Parents:` then ` - <id>` lines;
    a line that is no field continues the one before (a heredoc RUN's description). After a
    blank line, a summary field ends the listing.
    """
    records: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    last_key = ""
    blanks = 0  # blank lines since the last one with text
    for line in text.splitlines():
        if not line.strip():
            blanks += 1
            continue
        field = _FIELD.match(line)
        key = _VERBOSE_KEYS.get(field["key"]) if field else None
        if field and blanks and field["key"] in _SUMMARY:
            break
        if current is not None and last_key == "Description" and blanks:
            # A description's own blank lines, and its last newline, come before the next line.
            current["Description"] += "\n" * blanks
        blanks = 0
        if field and key == "ID":
            current = {"ID": field["value"].strip()}
            records.append(current)
            last_key = "ID"
        elif current is None:
            continue
        elif field and key:
            value = field["value"].strip()
            if key == "Parent":
                parents = [p.strip() for p in value.split(",") if p.strip()]
                current["Parent"] = ", ".join(parents)
            else:
                current[key] = value
            last_key = key
        elif last_key == "Parent" and line.lstrip().startswith("- "):
            parent = line.lstrip()[2:].strip()
            current["Parent"] = ", ".join(p for p in (current.get("Parent"), parent) if p)
        elif last_key == "Description":
            current["Description"] += f"\n{line}"
    return [_normal(r) for r in records]
