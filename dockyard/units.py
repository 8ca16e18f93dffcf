"""Sizes, ratios, durations and timestamps: read from settings and flags, written for people,
one way each.

Sizes use SI units like Docker's own output (1 MB = 1,000,000 bytes); `KiB`, `MiB`, ... are
read as powers of 1024.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
_SIZE_RE = re.compile(
    r"^\s*(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*"
    r"(?P<prefix>[kKmMgGtTpPeEzZyY]?)(?P<binary>i?)(?P<b>[bB]?)\s*$"
)
_PREFIX_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6, "z": 7, "y": 8}


def format_size(size: float | None) -> str:
    """Bytes for a table or a message: "191.4 MB", "512 B", "-" when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_change(change: float | None) -> str:
    """A size difference with its sign: "+1.2 kB", "-3.0 MB", "±0 B"; "" when unknown."""
    if change is None:
        return ""
    if change == 0:
        return "±0 B"
    return ("+" if change > 0 else "-") + format_size(abs(change))


def parse_size(text: str) -> int:
    """A size as people and Docker write it ("1.23MB", "0B", "12.3kB", "300MiB", "100000").

    Raises ValueError for anything else ("N/A", "").
    """
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number = float(match.group("num"))
    power = _PREFIX_POWER[match.group("prefix").lower()]
    if match.group("binary") and not power:
        raise ValueError(f"not a size: {text!r}")
    base = 1024 if match.group("binary") else 1000
    multiplier: int = base**power
    return round(number * multiplier)


def parse_ratio(text: str) -> float:
    """ "90%", "90 %" or "0.9" to 0.9."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"not a ratio: {text!r} (use 0.9 or 90%)") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"ratio out of range: {text!r} (0..1 or 0%..100%)")
    return value


def format_percent(ratio: float | None, *, digits: int = 0) -> str:
    """0.5 -> "50%"; "-" when unknown. Below 100 % with `digits`, e.g. "56.4%"."""
    if ratio is None:
        return "-"
    return f"{ratio * 100:.{digits}f}%"


def format_seconds(value: float | None, *, precise: bool = False) -> str:
    """ "4.8s", "2m03.5s"; "-" when unknown. `precise`: two decimals below 10 s ("0.21s"),
    where cached builds differ by hundredths."""
    if value is None:
        return "-"
    if precise and value < 10:
        return f"{value:.2f}s"
    if value < 60:
        return f"{value:.1f}s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)}m{rest:04.1f}s"


def format_seconds_change(now: float | None, before: float | None) -> str:
    """ "+1.2s" / "-0.4s" against an earlier duration; "" when either is unknown."""
    if now is None or before is None:
        return ""
    diff = now - before
    return f"{'+' if diff >= 0 else '-'}{abs(diff):.1f}s"


def utc_timestamp() -> str:
    """Now, as the ledger and the bench report write it: `2026-12-01T16:15:42+00:00`."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
