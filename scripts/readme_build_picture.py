"""Make docs/build-summary.svg for the README from a real build (not a mock-up).

It copies the bundled backend to a temp dir, builds it once through dockyard, edits one source
file, builds again and records what `inv build-fast` prints after that second build (summary,
per-step bars, why steps ran). Run from the repository root with a Docker engine:

    PYTHON_IMAGE=dockyard-local/python:3.11-slim python scripts/readme_build_picture.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dockyard import build, render  # noqa: E402
from dockyard.engine import Engine  # noqa: E402
from dockyard.render import build as render_build  # noqa: E402
from dockyard.settings import load_settings  # noqa: E402


def main() -> None:
    out = REPO / "docs" / "build-summary.svg"
    tag = f"dockyard-readme/backend:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(
            REPO / "backend",
            root / "backend",
            ignore=shutil.ignore_patterns("__pycache__", "tests"),
        )
        shutil.copy2(REPO / "docker-compose.yml", root / "docker-compose.yml")
        environ = {
            "COMPOSE_FILE": str(root / "docker-compose.yml"),
            "COMPOSE_PROJECT_NAME": "dockyard-readme",
            "DOCKYARD_STATE_DIR": str(root / ".state"),
            "DOCKYARD_ENV_FILE": str(root / ".env"),
        }
        os.environ.update(environ)
        os.environ["BACKEND_IMAGE"] = tag
        os.environ.setdefault("PYTHON_IMAGE", "dockyard-local/python:3.11-slim")
        engine = Engine(load_settings(REPO))
        try:
            build.run_build(engine, ["backend"])
            main_py = root / "backend" / "app" / "main.py"
            main_py.write_text(
                main_py.read_text("utf-8") + f"\n# tuned a log line ({tag})\n", "utf-8"
            )
            outcome = build.run_build(engine, ["backend"])
            console = render.make_console(record=True, width=96, force_terminal=True)
            console.print(
                "[muted]$ inv build-fast[/muted]   [muted](after editing app/main.py)[/muted]"
            )
            render_build.print_build(console, outcome)
            out.parent.mkdir(exist_ok=True)
            console.save_svg(str(out), title="inv build-fast")
        finally:
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
