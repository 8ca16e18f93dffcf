"""`inv doctor`: what breaks or leaks after a build, caught before it.

Gather the facts once (`gather`, the only part touching Docker or the disk), evaluate them with
pure checks (`checks`, by scope) into a `Report` of PASS / WARN / FAIL / SKIP results (`report`),
then render it (`dockyard.render.doctor`) or print `Report.to_dict()` (`--json`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.doctor.checks import evaluate
from dockyard.doctor.facts import Thresholds
from dockyard.doctor.gather import gather as gather_facts
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult, Report, Verdict

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol

__all__ = ["FAIL", "PASS", "SKIP", "WARN", "CheckResult", "Report", "Verdict", "run"]


def run(engine: EngineProtocol, services: Sequence[str] = ()) -> Report:
    """Gather and evaluate, with the thresholds from the engine's settings."""
    return evaluate(gather_facts(engine, services), Thresholds.from_settings(engine.settings))
