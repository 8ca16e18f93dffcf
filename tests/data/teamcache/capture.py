"""Re-capture the real rawjson streams of builds from a team cache, beside this script.

Run from the repository root on an engine: `python tests/data/teamcache/capture.py <stack>`
(`debian13`, or `sid` with sid's stack.env loaded); needs Debian's docker-registry (a registry
on 127.0.0.1 from tests/teambed.py), `dockyard-local/python:3.11-slim` and
`dockyard-local/uv:0.13.9`. It builds the bundled backend's Dockerfile.optimized with a CACHE_ID
of its own and exports its cache (classic store: inline cache in a pushed image; containerd
store: type=registry,mode=max), removes that build's records and image (a fresh machine), then
writes the stream of the build from the team cache (`<stack>-fresh.rawjson`) and of the same
build again, every step local (`<stack>-local.rawjson`). Everything it made is removed.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from dockyard.bench.fresh import records_made  # noqa: E402
from dockyard.progress import RawJsonStream  # noqa: E402
from tests.teambed import running_registry  # noqa: E402


def listing() -> list[dict[str, object]]:
    out = subprocess.run(
        ["docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return [] if out in ("", "null") else list(json.loads(out))


def build(args: list[str]) -> bytes:
    done = subprocess.run(
        ["docker", "buildx", "build", "--progress=rawjson", *args], capture_output=True, check=True
    )
    return done.stderr


def main() -> None:
    stack = sys.argv[1]
    token = secrets.token_hex(3)
    info = subprocess.run(["docker", "info", "--format", "{{json .DriverStatus}}"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    containerd = "io.containerd.snapshotter" in info
    with tempfile.TemporaryDirectory() as tmp, running_registry(Path(tmp) / "registry") as reg:
        context = Path(tmp) / "backend"
        ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
        shutil.copytree(ROOT / "backend", context, ignore=ignore)
        common = [
            "-f", str(context / "Dockerfile.optimized"),
            "--build-arg", "PYTHON_IMAGE=dockyard-local/python:3.11-slim",
            "--build-arg", "UV_IMAGE=dockyard-local/uv:0.13.9",
            "--build-arg", f"CACHE_ID=dockyard-capture-{token}",
        ]  # fmt: skip
        ref = f"{reg.address}/capture/backend:{token}"
        tag = f"dockyard-capture/teamcache:{token}"
        before = {str(r["ID"]) for r in listing()}
        if containerd:
            export = build([*common, "--cache-to", f"type=registry,ref={ref},mode=max",
                            "-t", tag, "--load", str(context)])  # fmt: skip
        else:
            export = build([*common, "--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", tag,
                            "-t", ref, "--load", str(context)])  # fmt: skip
            subprocess.run(["docker", "push", "--quiet", ref], capture_output=True, check=True)
        stream = RawJsonStream(default_service="backend")
        stream.feed(export, "stderr")
        stream.close()
        ran = [s.name for s in stream.report("backend").steps if not s.cached and not s.is_from]
        made = records_made(before, listing(), ran)
        assert made.found, made
        subprocess.run(["docker", "image", "rm", "--force", tag, ref], capture_output=True)
        pattern = f"id=^({'|'.join(made.ids)})$"
        subprocess.run(["docker", "builder", "prune", "--force", "--filter", pattern],
                       capture_output=True, check=True)  # fmt: skip
        fresh = build([*common, "--cache-from", f"type=registry,ref={ref}", "-t", tag,
                       "--load", str(context)])  # fmt: skip
        local = build([*common, "--cache-from", f"type=registry,ref={ref}", "-t", tag,
                       "--load", str(context)])  # fmt: skip
        subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True)
    for name, data in (("fresh", fresh), ("local", local)):
        text = data.decode("utf-8").replace(reg.address, "127.0.0.1:5000")  # a stable address
        (HERE / f"{stack}-{name}.rawjson").write_text(text, encoding="utf-8")
    print(f"wrote {stack}-fresh.rawjson and {stack}-local.rawjson")


if __name__ == "__main__":
    main()
