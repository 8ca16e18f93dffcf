"""Re-capture the real `docker buildx du` listings beside this script (dockyard lists the build
cache with them: dockyard/engine/buildcache.py; tests/unit/test_buildcache.py).

Run from the repository root on an engine: `python tests/data/buildx-du/capture.py <stack>`
(`debian13`, or `sid` with sid's stack.env loaded). Needs `dockyard-local/python:3.11-slim`.
It first builds a two-step image whose RUN is a heredoc with a blank line in it (a description
over several lines), then picks up to 12 records of every type the engine has, those new ones
among them, and writes `<stack>.json`: the buildx version, those records as `docker system df
-v` gives them (what the parsed listing must equal), buildx's own listings of them (`--verbose`,
and `--format json` where buildx has it), and the end of the unfiltered `--verbose` listing
(its last two records and the summary after them). It then removes the records and the image.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def main() -> None:
    stack = sys.argv[1]
    token = secrets.token_hex(4)
    tag = f"dockyard-capture/du:{token}"
    before = {r["ID"] for r in json.loads(run("docker", "system", "df", "-v", "--format",
                                             "{{json .BuildCache}}") or "[]") or []}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Dockerfile").write_text(
            "FROM dockyard-local/python:3.11-slim\n"
            f"RUN <<EOF\necho {token} > /one\n\necho two: three >> /one\nEOF\n"
            f"RUN echo {token} > /two\n",
            encoding="utf-8",
        )
        run("docker", "buildx", "build", "--load", "-t", tag, tmp)
    listing = json.loads(run("docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"))
    new = [r for r in listing if r["ID"] not in before]
    chosen = {r["ID"]: r for r in new}
    for kind in sorted({r["CacheType"] for r in listing}):
        for record in [r for r in listing if r["CacheType"] == kind and r["Parent"]][:2]:
            chosen.setdefault(record["ID"], record)
        for record in [r for r in listing if r["CacheType"] == kind][:1]:
            chosen.setdefault(record["ID"], record)
    ids = list(chosen)[:12]
    pattern = f"id=^({'|'.join(ids)})$"
    version = run("docker", "buildx", "version").split()[1]
    verbose = run("docker", "buildx", "du", "--verbose", "--filter", pattern)
    try:
        as_json: str | None = run("docker", "buildx", "du", "--format", "json", "--filter", pattern)
    except subprocess.CalledProcessError:
        as_json = None  # buildx before 0.28
    full = run("docker", "buildx", "du", "--verbose").splitlines()
    starts = [n for n, line in enumerate(full) if line.startswith("ID:")]
    tail = "\n".join(full[starts[-2] :]) + "\n" if len(starts) >= 2 else "\n".join(full)
    out = {
        "stack": stack,
        "buildx": version,
        "system_df": [chosen[i] for i in ids],
        "verbose": verbose,
        "json": as_json,
        "verbose_tail": tail,
        "tail_ids": [full[n].split(":", 1)[1].strip() for n in starts[-2:]],
    }
    (HERE / f"{stack}.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)
    if new:
        made = "|".join(r["ID"] for r in new)
        subprocess.run(["docker", "builder", "prune", "-f", "--filter", f"id=^({made})$"],
                       capture_output=True, check=False)  # fmt: skip
    print(f"{stack}: {len(ids)} records, {len(new)} new; buildx {version}")


if __name__ == "__main__":
    main()
