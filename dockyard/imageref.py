"""Image references as Docker normalises them, so `app`, `app:latest` and
`docker.io/library/app:latest` compare equal everywhere in dockyard."""

from __future__ import annotations

_DEFAULT_DOMAIN = "docker.io"


def normalize(ref: str) -> str:
    """`python:3.11` -> `docker.io/library/python:3.11`; a missing tag means `latest`.

    Image ids (`sha256:...`) are returned as they are. A first path part with a dot, a colon or
    `localhost` is a registry host (Docker's rule), otherwise the name lives on Docker Hub.
    """
    ref = ref.strip()
    if ref.startswith("sha256:"):
        return ref
    name, at, digest = ref.partition("@")
    if name.startswith("index.docker.io/"):
        name = _DEFAULT_DOMAIN + name[len("index.docker.io") :]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"{_DEFAULT_DOMAIN}/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"{_DEFAULT_DOMAIN}/{name}"
    if name.count("/") == 1 and name.startswith(f"{_DEFAULT_DOMAIN}/"):
        name = f"{_DEFAULT_DOMAIN}/library/{name.split('/', 1)[1]}"
    return name + (at + digest if at else "")


def familiar(ref: str) -> str:
    """`docker.io/library/app:1` as Docker shows it: `app:1`."""
    for prefix in (f"{_DEFAULT_DOMAIN}/library/", f"{_DEFAULT_DOMAIN}/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref
