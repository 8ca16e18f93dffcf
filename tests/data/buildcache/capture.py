"""Re-capture the real build-cache listings beside this script (`inv bench`'s team-cache
scenario tells a build's own records apart with them; tests/unit/bench/test_fresh.py).

Run from the repository root on an engine: `python tests/data/buildcache/capture.py <stack>`
(`debian13`, or `sid` with sid's stack.env loaded). Needs `dockyard-local/python:3.11-slim` and
`dockyard-local/uv:0.13.9`. It builds the bundled backend's Dockerfile.optimized on a scratch
copy with a CACHE_ID of its own, once alone (`<stack>-one.json`) and, on `--pair`, twice at the
same time with two CACHE_IDs (`<stack>-pair.json`). Each file holds the step names of the
build(s) from the rawjson stream, the record ids listed before, and the records listed after:
the new ones, the records they hang from and 20 other old ones (the full listing has thousands).
It then removes the records and images it made.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from dockyard.progress import RawJsonStream  # noqa: E402


def listing() -> list[dict[str, object]]:
    out = subprocess.run(
        ["docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return [] if out in ("", "null") else list(json.loads(out))


def build(context: Path, cache_id: str, tag: str, names: list[list[str]]) -> None:
    done = subprocess.run(
        ["docker", "buildx", "build", "--progress=rawjson", "--load", "-t", tag,
         "-f", str(context / "Dockerfile.optimized"),
         "--build-arg", "PYTHON_IMAGE=dockyard-local/python:3.11-slim",
         "--build-arg", "UV_IMAGE=dockyard-local/uv:0.13.9",
         "--build-arg", f"CACHE_ID={cache_id}", str(context)],
        capture_output=True, check=True,
    )  # fmt: skip
    stream = RawJsonStream(default_service="backend")
    stream.feed(done.stderr, "stderr")
    stream.close()
    report = stream.report("backend")
    names.append([s.name for s in report.steps if not s.cached and not s.is_from])


def main() -> None:
    stack = sys.argv[1]
    pair = "--pair" in sys.argv
    token = secrets.token_hex(3)
    with tempfile.TemporaryDirectory() as tmp:
        contexts = []
        for n in range(2 if pair else 1):
            context = Path(tmp) / f"backend{n}"
            ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
            shutil.copytree(ROOT / "backend", context, ignore=ignore)
            contexts.append(context)
        before = listing()
        names: list[list[str]] = []
        tags = [f"dockyard-capture/fresh:{token}-{n}" for n in range(len(contexts))]
        threads = [
            threading.Thread(target=build, args=(c, f"dockyard-capture-{token}-{n}", t, names))
            for n, (c, t) in enumerate(zip(contexts, tags, strict=True))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = listing()
    old = {str(r["ID"]) for r in before}
    new = [r for r in after if str(r["ID"]) not in old]
    parents = {str(r.get("Parent") or "") for r in new}
    kept = new + [r for r in after if str(r["ID"]) in parents]
    kept += [r for r in after if str(r["ID"]) in old and r not in kept][:20]
    data = {
        "stack": stack,
        "executed_steps": names,
        "before_ids": sorted(str(r["ID"]) for r in kept if str(r["ID"]) in old),
        "after": kept,
    }
    out = HERE / f"{stack}-{'pair' if pair else 'one'}.json"
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    subprocess.run(["docker", "image", "rm", "--force", *tags], capture_output=True, check=False)
    ids = [str(r["ID"]) for r in new]
    subprocess.run(["docker", "builder", "prune", "--force", "--filter",
                    f"id=^({'|'.join(ids)})$"], capture_output=True, check=False)  # fmt: skip
    print(f"wrote {out}: {len(new)} new records, {len(names)} build(s)")


if __name__ == "__main__":
    main()
