"""Make the README's pictures from real runs (not mock-ups), on a scratch copy of the backend.

* docs/build-summary.svg: what `inv build-fast` prints after a one-line edit of app/main.py
  (the backend is built once, the file edited, then built again);
* docs/inspect-layers.svg: what `inv inspect-layers --top 3 --ci` prints for that image.

The image built is removed afterwards. Run from the repository root with a Docker engine:

    PYTHON_IMAGE=dockyard-local/python:3.11-slim python scripts/readme_pictures.py
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

from rich.console import Console  # noqa: E402

from dockyard import build, render  # noqa: E402
from dockyard.engine import Engine  # noqa: E402
from dockyard.image.gate import gate_rules  # noqa: E402
from dockyard.image.inspection import inspect_layers  # noqa: E402
from dockyard.image.targets import resolve_target  # noqa: E402
from dockyard.render import build as render_build  # noqa: E402
from dockyard.render import image as render_image  # noqa: E402
from dockyard.settings import load_settings  # noqa: E402

DOCS = REPO / "docs"


def scratch_project(root: Path, tag: str) -> Engine:
    """The bundled backend and compose file copied under `root`, its image tagged `tag`."""
    shutil.copytree(
        REPO / "backend", root / "backend", ignore=shutil.ignore_patterns("__pycache__", "tests")
    )
    shutil.copy2(REPO / "docker-compose.yml", root / "docker-compose.yml")
    os.environ.update(
        {
            "COMPOSE_FILE": str(root / "docker-compose.yml"),
            "COMPOSE_PROJECT_NAME": "dockyard-readme",
            "DOCKYARD_STATE_DIR": str(root / ".state"),
            "DOCKYARD_ENV_FILE": str(root / ".env"),
            "BACKEND_IMAGE": tag,
        }
    )
    os.environ.setdefault("PYTHON_IMAGE", "dockyard-local/python:3.11-slim")
    return Engine(load_settings(REPO))


def save(console: Console, name: str, title: str) -> None:
    DOCS.mkdir(exist_ok=True)
    console.save_svg(str(DOCS / name), title=title)
    print(f"wrote docs/{name}")


def main() -> None:
    tag = f"dockyard-readme/backend:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = scratch_project(root, tag)
        try:
            build.run_build(engine, ["backend"])
            main_py = root / "backend" / "app" / "main.py"
            # A token of this run: an edit BuildKit has seen before would come from cache.
            edit = f"\n# tuned a log line ({tag})\n"
            main_py.write_text(main_py.read_text("utf-8") + edit, "utf-8")
            outcome = build.run_build(engine, ["backend"])
            console = render.make_console(record=True, width=96, force_terminal=True)
            console.print(
                "[muted]$ inv build-fast[/muted]   [muted](after editing app/main.py)[/muted]"
            )
            render_build.print_build(console, outcome)
            save(console, "build-summary.svg", "inv build-fast")

            target = resolve_target(engine, "backend")
            result = inspect_layers(
                engine, target, choice=gate_rules(engine.settings, target), top=3
            )
            console = render.make_console(record=True, width=100, force_terminal=True)
            console.print("[muted]$ inv inspect-layers --top 3 --ci[/muted]")
            render_image.print_inspection(console, result)
            save(console, "inspect-layers.svg", "inv inspect-layers")
        finally:
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


if __name__ == "__main__":
    main()
