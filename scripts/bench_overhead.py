"""dockyard's own cost: `dockyard build-fast` against raw `docker compose build`, fully cached.

Makes two throwaway compose projects (1 service and 20 services, each a small Dockerfile on the
stand-in base image), builds each once so every step is cached, then times alternated runs of

    docker compose build            (what a user would type without dockyard)
    dockyard build-fast             (the console script next to this interpreter)

and prints the medians and their difference, dockyard's overhead. Alternating the two keeps a
shared machine's drift out of the difference. Everything it makes is named by a run id and
removed at the end (its images; the build cache keeps a few tiny records, as any build does).

    python scripts/bench_overhead.py [--runs 5] [--services 1,20] [--json FILE]

It uses the engine the docker CLI points at (DOCKER_HOST / DOCKER_CONTEXT), so run it once per
stack. Targets (issue 13): overhead <= 0.3 s for 1 service, <= 0.6 s for 20 services.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BASE = os.environ.get("PYTHON_IMAGE") or "dockyard-local/python:3.11-slim"
TARGETS = {1: 0.3, 20: 0.6}


def dockyard_command() -> list[str]:
    # The console script itself, not a shell shim (pyenv's shims add ~0.25 s to every run).
    name = "dockyard.exe" if sys.platform == "win32" else "dockyard"
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.exists():
        return [str(candidate)]
    return [sys.executable, "-m", "dockyard"]


def make_project(root: Path, run_id: str, services: int) -> tuple[Path, list[str]]:
    """A compose project of `services` services, each its own context; returns (dir, images)."""
    project = root / f"p{services}"
    lines = [f"name: dyovh-{run_id}-{services}", "services:"]
    images = []
    for n in range(1, services + 1):
        name = f"s{n}"
        context = project / name
        context.mkdir(parents=True)
        (context / "requirements.txt").write_text(f"# {name}\n", encoding="utf-8")
        (context / "app.py").write_text(f"print({n})\n", encoding="utf-8")
        (context / "Dockerfile").write_text(
            f"FROM {BASE}\nWORKDIR /app\nCOPY requirements.txt .\n"
            f"RUN echo installing for {name}\nCOPY app.py .\n",
            encoding="utf-8",
        )
        image = f"dyovh-{run_id}/{name}:latest"
        images.append(image)
        lines += [f"  {name}:", f"    build: ./{name}", f"    image: {image}"]
    (project / "compose.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return project, images


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n" + "\n".join(tail))
    return seconds


def measure(project: Path, runs: int) -> dict[str, list[float]]:
    env = {
        **os.environ,
        "DOCKER_BUILDKIT": "1",
        "DOCKYARD_STATE_DIR": str(project / ".dockyard"),
        "NO_COLOR": "1",
    }
    commands = {
        "compose": ["docker", "compose", "build"],
        "dockyard": [*dockyard_command(), "build-fast"],
    }
    for command in commands.values():  # warm: every step cached, the ledger has a build
        timed(command, project, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, project, env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="alternated runs of each (default 5)")
    parser.add_argument("--services", default="1,20", help="project sizes (default 1,20)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    sizes = [int(part) for part in args.services.split(",") if part.strip()]
    run_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix=f"dockyard-overhead-{run_id}-"))
    version = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    results = []
    images: list[str] = []
    try:
        for size in sizes:
            project, made = make_project(root, run_id, size)
            images += made
            times = measure(project, args.runs)
            raw, ours = (statistics.median(times[k]) for k in ("compose", "dockyard"))
            target = TARGETS.get(size)
            results.append(
                {
                    "services": size,
                    "compose_median": raw,
                    "dockyard_median": ours,
                    "overhead": ours - raw,
                    "target": target,
                    "met": None if target is None else ours - raw <= target,
                    "runs": times,
                }
            )
    finally:
        if images:
            subprocess.run(["docker", "image", "rm", *images], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print(f"engine {version or '?'}, {args.runs} alternated runs each, medians (run {run_id})")
    print(f"{'services':>8}  {'compose build':>13}  {'dockyard':>9}  {'overhead':>9}  target")
    for row in results:
        verdict = (
            ""
            if row["target"] is None
            else (f"<= {row['target']:.1f} s {'met' if row['met'] else 'missed'}")
        )
        raw, ours = row["compose_median"], row["dockyard_median"]
        print(
            f"{row['services']:>8}  {raw:>12.2f}s  {ours:>8.2f}s  {row['overhead']:>+8.2f}s  "
            f"{verdict}"
        )
    if args.json:
        payload = {"engine": version, "run_id": run_id, "results": results}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
