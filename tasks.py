"""This repository's `inv`: dockyard's own tasks, for the bundled backend in this folder."""

from pathlib import Path

from dockyard.tasks import namespace

ns = namespace(root=Path(__file__).resolve().parent)
