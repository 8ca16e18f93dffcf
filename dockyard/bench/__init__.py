"""`inv bench`: the write-up's before / after table, measured on this machine as ratios.

`plan` fixes the strategies, scenarios and every name a run owns; `run` builds each strategy in
each scenario on scratch copies (`edits`), then times the app's import; `report` turns the
samples into medians, ratios and targets (`installer` counts the downloads); `leftovers` removes
what a run owns. The method is in the README's "inv bench".
"""

from __future__ import annotations

from dockyard.bench.leftovers import Leftovers, find_leftovers, remove_leftovers
from dockyard.bench.plan import BenchPlan, describe_plan, make_plan, plan_for_project
from dockyard.bench.report import BenchReport
from dockyard.bench.run import BenchListener, run_bench

__all__ = [
    "BenchListener",
    "BenchPlan",
    "BenchReport",
    "Leftovers",
    "describe_plan",
    "find_leftovers",
    "make_plan",
    "plan_for_project",
    "remove_leftovers",
    "run_bench",
]
