"""dockyard: fast, observable Docker Compose builds for a Python backend."""

__version__ = "0.1.0"
