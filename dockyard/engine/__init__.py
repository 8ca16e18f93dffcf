"""The only part of dockyard that talks to Docker.

`Engine` joins one class per Docker command group (compose, image, buildx, system), all built on
one python-on-whales `DockerClient` made from the Settings. The rest of dockyard types against
`EngineProtocol`, which the tests' shared fake implements too.
"""

from __future__ import annotations

from dockyard.engine.buildx import BuildxCommands
from dockyard.engine.compose import (
    ComposeCommands,
    HealthProbe,
    ServiceState,
    health_probes,
    parse_compose_ps,
)
from dockyard.engine.errors import docker_errors, translate
from dockyard.engine.image import ImageCommands
from dockyard.engine.protocol import EngineProtocol
from dockyard.engine.system import SystemCommands

__all__ = [
    "Engine",
    "EngineProtocol",
    "HealthProbe",
    "ServiceState",
    "docker_errors",
    "health_probes",
    "parse_compose_ps",
    "translate",
]


class Engine(ComposeCommands, ImageCommands, BuildxCommands, SystemCommands):
    """Docker for one compose project, configured from Settings."""
