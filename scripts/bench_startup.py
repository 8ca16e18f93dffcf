"""How long `inv --list` takes: the median of N runs of the real entry point.

`inv --list` must stay fast (target <= 0.3 s here), so python-on-whales, pydantic, rich and
python-dotenv are imported inside the tasks, not at import time (a unit test checks that).

    python scripts/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def entry_point() -> list[str]:
    # The console script next to this interpreter, not a shell shim (pyenv's shims add ~0.25 s).
    candidate = Path(sysconfig.get_path("scripts")) / (
        "inv.exe" if sys.platform == "win32" else "inv"
    )
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("inv")
    return [found] if found else [sys.executable, "-m", "invoke"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    command = [*entry_point(), "--list"]
    subprocess.run(command, cwd=REPO, capture_output=True, check=True)  # warm the file cache
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        timings.append(time.perf_counter() - started)
    baseline = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True)
        baseline.append(time.perf_counter() - started)
    print(f"command: {' '.join(command)}")
    print(
        f"inv --list: median {statistics.median(timings):.3f} s "
        f"(min {min(timings):.3f}, max {max(timings):.3f}, {args.runs} runs); "
        f"bare python start: median {statistics.median(baseline):.3f} s"
    )


if __name__ == "__main__":
    main()
