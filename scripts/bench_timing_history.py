"""`dockyard timing --history` over a ledger of 10,000 builds: does it stay flat?

Makes a one-service compose project on the stand-in base image, builds it once through
`dockyard build-fast` (a real ledger row), copies that build until the ledger holds `--builds`
builds (in SQL, one transaction), then times `dockyard timing --history` on it and on the
ledger of the single build, alternated, median of `--runs`. Target (issue 13): <= 0.5 s at
10,000 builds. Everything it makes is named by a run id and removed at the end.

    python scripts/bench_timing_history.py [--builds 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_overhead import BASE, dockyard_command, timed

TARGET = 0.5


def grow(ledger: Path, builds: int) -> None:
    """Copy the ledger's one build (and its service rows) until it holds `builds` builds."""
    db = sqlite3.connect(ledger)
    try:
        db.execute("BEGIN")
        (first,) = db.execute("SELECT min(id) FROM builds").fetchone()
        for _ in range(builds - 1):
            cursor = db.execute(
                "INSERT INTO builds (started_at, finished_at, seconds, status, project, services,"
                " git_commit, no_cache, error) SELECT started_at, finished_at,"
                " seconds * (0.8 + abs(random() % 400) / 1000.0), status, project, services,"
                " git_commit, no_cache, error FROM builds WHERE id = ?",
                (first,),
            )
            db.execute(
                "INSERT INTO service_builds (build_id, service, status, seconds, steps_total,"
                " steps_cached, cache_ratio, image, image_id, image_size, base_digest,"
                " context_digest, steps, reasons, context, build_args, error) SELECT ?, service,"
                " status, seconds, steps_total, steps_cached, cache_ratio, image, image_id,"
                " image_size, base_digest, context_digest, steps, reasons, context, build_args,"
                " error FROM service_builds WHERE build_id = ?",
                (cursor.lastrowid, first),
            )
        db.execute("COMMIT")
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix=f"dockyard-history-{run_id}-"))
    image = f"dyhist-{run_id}/app:latest"
    try:
        project = root / "project"
        project.mkdir()
        (project / "Dockerfile").write_text(
            f"FROM {BASE}\nWORKDIR /app\nCOPY app.py .\nRUN python3 -c 'print(1)'\n",
            encoding="utf-8",
        )
        (project / "app.py").write_text("print('hello')\n", encoding="utf-8")
        (project / "compose.yml").write_text(
            f"name: dyhist-{run_id}\nservices:\n  app:\n    build: .\n    image: {image}\n",
            encoding="utf-8",
        )
        small, big = root / "small", root / "big"
        env = {**os.environ, "NO_COLOR": "1", "DOCKYARD_STATE_DIR": str(small)}
        timed([*dockyard_command(), "build-fast"], project, env)
        big.mkdir()
        shutil.copy(small / "ledger.sqlite3", big / "ledger.sqlite3")
        grow(big / "ledger.sqlite3", args.builds)
        command = [*dockyard_command(), "timing", "--history"]
        times: dict[str, list[float]] = {"1 build": [], f"{args.builds:,} builds": []}
        for state in (small, big):  # warm the file cache
            timed(command, project, {**env, "DOCKYARD_STATE_DIR": str(state)})
        for _ in range(args.runs):
            for label, state in zip(times, (small, big), strict=True):
                times[label].append(
                    timed(command, project, {**env, "DOCKYARD_STATE_DIR": str(state)})
                )
    finally:
        subprocess.run(["docker", "image", "rm", image], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print(f"`dockyard timing --history`, median of {args.runs} alternated runs (run {run_id})")
    for label, values in times.items():
        print(f"  ledger of {label:>14}: {statistics.median(values):.3f} s")
    at_big = statistics.median(times[f"{args.builds:,} builds"])
    verdict = "met" if at_big <= TARGET else "missed"
    print(f"  target <= {TARGET} s at {args.builds:,} builds: {verdict}")


if __name__ == "__main__":
    main()
