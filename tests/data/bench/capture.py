"""Re-capture the real `docker buildx build --progress=rawjson` streams beside this script.

Run from the repository root: `python tests/data/bench/capture.py`. Needs a Docker engine and
`dockyard-local/python:3.11-slim` (or PYTHON_IMAGE). Builds the bundled backend's three
Dockerfiles on a scratch copy (as `inv bench` does), with a fresh CACHE_ID, writes each build's
stderr (the rawjson stream) to `<strategy>-<scenario>.rawjson`, then removes the images it
built and the cache mounts it created. See README.md for what each file shows.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from dockyard.bench.edits import code_edit, copy_context, deps_edit  # noqa: E402
from dockyard.bench.leftovers import cleanup  # noqa: E402
from dockyard.bench.plan import make_plan  # noqa: E402
from dockyard.engine import Engine  # noqa: E402
from dockyard.settings import default, load_settings, parse_strategies  # noqa: E402

PYTHON_IMAGE = os.environ.get("PYTHON_IMAGE", "dockyard-local/python:3.11-slim")


def main() -> None:
    engine = Engine(load_settings(ROOT))
    token = secrets.token_hex(3)
    plan = make_plan(
        service="backend",
        context_dir=ROOT / "backend",
        dockerfiles=parse_strategies(default("DOCKYARD_BENCH_STRATEGIES")),
        build_args={"PYTHON_IMAGE": PYTHON_IMAGE},
        run_id=f"capture-{token}",
    )
    tags: list[str] = []
    image_ids: list[str] = []  # each build's image: dangling once the tag moves on
    with tempfile.TemporaryDirectory() as tmp:
        scratch = {s.name: copy_context(plan, Path(tmp) / s.name) for s in plan.strategies}
        code = (plan.context_dir / plan.code_file).read_text(encoding="utf-8")
        reqs = (plan.context_dir / plan.requirements_file).read_text(encoding="utf-8")
        try:
            for strategy in plan.strategies:
                folder = scratch[strategy.name]
                tag = plan.image(strategy.name)
                tags.append(tag)
                steps = [
                    ("cold", True, None),
                    ("code-edit", False, (plan.code_file, code_edit(code, plan.run_id, 1))),
                    (
                        "deps-edit",
                        False,
                        (plan.requirements_file, deps_edit(reqs, plan.run_id, 1)),
                    ),
                ]
                for scenario, no_cache, edit in steps:
                    if edit is not None:
                        (folder / edit[0]).write_text(edit[1], encoding="utf-8")
                    chunks = []
                    for source, chunk in engine.buildx_build_stream(
                        folder,
                        dockerfile=folder / strategy.scratch_dockerfile,
                        tag=tag,
                        build_args={
                            **plan.build_args,
                            "CACHE_ID": plan.cache_id(strategy.name, 1),
                        },
                        no_cache=no_cache,
                    ):
                        if source == "stderr":
                            chunks.append(chunk)
                    image_ids.append(str(engine.image_inspect(tag).get("Id", "")))
                    out = HERE / f"{strategy.name}-{scenario}.rawjson"
                    out.write_bytes(b"".join(chunks))
                    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
        finally:
            print("removed:", ", ".join(cleanup(engine, plan, tags, image_ids)))


if __name__ == "__main__":
    main()
