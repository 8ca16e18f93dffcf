"""Make docs/inspect-layers.svg for the README from a real run (not a mock-up).

It copies the bundled backend to a temp dir, builds it once through dockyard, then runs what
`inv inspect-layers --ci` runs (base image from the Dockerfile, `docker save` piped into the
analysis, the default gate) and records what it prints, 100 columns wide. The image it built is
removed afterwards. Run from the repository root with a Docker engine:

    PYTHON_IMAGE=dockyard-local/python:3.11-slim python scripts/readme_inspect_picture.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dockyard import build, images, render  # noqa: E402
from dockyard.engine import Engine  # noqa: E402
from dockyard.render import layers as render_layers  # noqa: E402
from dockyard.settings import load_settings  # noqa: E402

TAG = "dockyard-readme/backend:inspect"


def main() -> None:
    out = REPO / "docs" / "inspect-layers.svg"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(
            REPO / "backend",
            root / "backend",
            ignore=shutil.ignore_patterns("__pycache__", "tests"),
        )
        shutil.copy2(REPO / "docker-compose.yml", root / "docker-compose.yml")
        os.environ.update(
            {
                "COMPOSE_FILE": str(root / "docker-compose.yml"),
                "COMPOSE_PROJECT_NAME": "dockyard-readme",
                "DOCKYARD_STATE_DIR": str(root / ".state"),
                "DOCKYARD_ENV_FILE": str(root / ".env"),
                "BACKEND_IMAGE": TAG,
            }
        )
        os.environ.setdefault("PYTHON_IMAGE", "dockyard-local/python:3.11-slim")
        engine = Engine(load_settings(REPO))
        try:
            build.run_build(engine, ["backend"])
            target = images.resolve(engine, "backend")
            limits = images.limits_from_settings(engine.settings)
            result = images.inspect_layers(
                engine, target, choice=images.gate_rules(limits, target), top=3
            )
            console = render.make_console(record=True, width=100, force_terminal=True)
            console.print("[muted]$ inv inspect-layers --top 3 --ci[/muted]")
            render_layers.print_inspection(console, result)
            out.parent.mkdir(exist_ok=True)
            console.save_svg(str(out), title="inv inspect-layers")
        finally:
            subprocess.run(["docker", "image", "rm", "-f", TAG], capture_output=True, check=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
