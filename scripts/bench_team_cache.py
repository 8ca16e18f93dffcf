"""Benchmark "fresh machine, team cache" against the plain cold build (issue #11).

    python scripts/bench_team_cache.py [--runs 3] [--dockerfile Dockerfile.optimized]

Uses the team-cache test bed (tests/teambed.py): a registry on 127.0.0.1 and a third dockerd
(sid's 28.5, containerd store) reached over TCP with TLS, which plays the fresh machine.

1. cold: on the engine the environment points at (the exporting machine, which has the network
   the dependency install needs), `--runs` builds of the bundled backend with `--no-cache` and
   a fresh CACHE_ID each (empty layer cache and cache mounts, as `inv bench`'s cold);
2. export: one build with the team cache exported (containerd store: `--cache-to
   type=registry,mode=max`; classic store: inline cache in a pushed image);
3. fresh machine: `--runs` builds on the third engine, each after its build cache and the image
   were removed, importing from the team cache only.

Prints the medians and the ratio fresh / cold (target <= 25 %). Everything it makes is removed
(its images on the exporting engine; the third engine and the registry are thrown away).
Wall-clock times of `docker buildx build` (the CLI's own start included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PYTHON_IMAGE
from tests.teambed import running_registry, running_tls_engine

REPO = Path(__file__).resolve().parent.parent


def build(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["docker", "buildx", "build", "--progress=quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    return seconds


def store(env: dict[str, str]) -> str:
    out = subprocess.run(
        ["docker", "info", "--format", "{{json .DriverStatus}}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return "containerd" if "io.containerd.snapshotter" in out else "classic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dockerfile", default="Dockerfile.optimized")
    options = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    here = dict(os.environ)
    tags: list[str] = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        context = scratch / "backend"
        shutil.copytree(
            REPO / "backend", context, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache")
        )
        common = [
            "-f",
            str(context / options.dockerfile),
            "--build-arg",
            f"PYTHON_IMAGE={PYTHON_IMAGE}",
        ]
        with (
            running_registry(scratch / "registry") as registry,
            running_tls_engine(scratch / "engine", [PYTHON_IMAGE]) as fresh,
        ):
            try:
                cold = []
                for n in range(options.runs):
                    tag = f"dockyard-bench/teamcache-cold:{run_id}-{n}"
                    tags.append(tag)
                    cache_id = f"dockyard-bench-{run_id}-cold-{n}"
                    cold.append(build([*common, "--no-cache", "--build-arg", f"CACHE_ID={cache_id}",
                                       "-t", tag, "--load", str(context)], here))  # fmt: skip
                ref = f"{registry.address}/bench/backend:main"
                shared = ["--build-arg", f"CACHE_ID=dockyard-bench-{run_id}-team"]
                if store(here) == "containerd":
                    how = "type=registry,mode=max"
                    export = [
                        "--cache-to",
                        f"type=registry,ref={ref},mode=max",
                        "-t",
                        ref,
                        "--load",
                    ]
                else:
                    how = "inline cache in a pushed image"
                    export = ["--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", ref, "--push"]
                tags.append(ref)
                build([*common, *shared, *export, str(context)], here)
                warm = []
                for n in range(options.runs):
                    fresh.forget_builds()
                    fresh.docker("image", "rm", "--force", f"dockyard-bench/fresh:{n - 1}")
                    warm.append(build([*common, *shared, "--cache-from", f"type=registry,ref={ref}",
                                       "-t", f"dockyard-bench/fresh:{n}", "--load", str(context)],
                                      fresh.environ()))  # fmt: skip
            finally:
                subprocess.run(["docker", "image", "rm", "--force", *tags], env=here,
                               capture_output=True, check=False)  # fmt: skip
    cold_median, warm_median = statistics.median(cold), statistics.median(warm)
    print(f"exported as {how}; {options.dockerfile}, {options.runs} runs each")
    print(f"cold (--no-cache, empty cache mounts): median {cold_median:.2f}s  {cold}")
    print(f"fresh machine, team cache only:        median {warm_median:.2f}s  {warm}")
    ratio = warm_median / cold_median
    print(f"fresh / cold = {ratio:.1%} (target <= 25%: {'met' if ratio <= 0.25 else 'missed'})")


if __name__ == "__main__":
    main()
