"""Capture `docker container inspect` of a really unhealthy container, on the stack at hand.

Usage: python capture.py NAME   (NAME.inspect.json is written here; the container is removed)
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

IMAGE = "dockyard-local/python:3.11-slim"
CHECK = 'echo "checking db:5432 ..."; echo "  connection refused" >&2; exit 1'


def main(name: str) -> None:
    container = f"dyt-health-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "--detach", "--name", container, "--health-cmd", CHECK,
         "--health-interval", "1s", "--health-retries", "3", "--init", IMAGE, "sleep", "120"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        time.sleep(8)  # more than 5 probes: Docker keeps the last 5
        done = subprocess.run(
            ["docker", "container", "inspect", container],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        Path(__file__).with_name(f"{name}.inspect.json").write_text(done.stdout, "utf-8")
    finally:
        subprocess.run(["docker", "rm", "--force", container], check=False, capture_output=True)


if __name__ == "__main__":
    main(sys.argv[1])
