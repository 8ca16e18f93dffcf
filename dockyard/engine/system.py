"""The stack (`docker version`, `docker info`, ...: `stackinfo`), the build cache, and
throwaway containers."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from dockyard.engine import buildcache, stackinfo
from dockyard.engine.base import EngineBase
from dockyard.errors import DockyardError

_LISTING_ATTEMPTS = 4
# BuildKit skips a record a build still holds (seen on the containerd store while other builds
# ran): asked again a moment later, it lets go. Five tries, over about 5 s.
_PRUNE_ATTEMPTS = 5


class SystemCommands(EngineBase):
    @cached_property
    def stack(self) -> stackinfo.StackInfo:
        """Versions, image store and build path of the Docker this run talks to (read once)."""
        return stackinfo.detect(self.run, self.docker_cmd())

    def docker_path(self) -> str | None:
        """Where the docker CLI is, or None when it is not on PATH (nothing is run)."""
        return shutil.which(str(self.client.client_config.client_call[0]))

    def build_cache_records(self) -> list[dict[str, Any]]:
        """The build cache's records, as `docker buildx du` lists them (`buildcache`): ID,
        Parent, CacheType, Description, ... in the shape of `docker system df -v`.

        Not `docker system df -v` itself: with the containerd image store the engine walks every
        snapshot for it and fails ("NotFound: snapshot X-view does not exist") whenever a build
        drops one meanwhile (2 of 9 listings during one bench on engine 28.5; every listing of
        a `bench --clean` while two benches built). BuildKit's own listing skips those; it is
        also the builder that builds and `docker builder prune` prunes. Asked again when a
        listing still fails that way; without buildx, system df is all there is.
        """
        args, parse = buildcache.listing(stackinfo.version_tuple(self.stack.buildx))
        for attempt in range(1, _LISTING_ATTEMPTS + 1):
            try:
                return parse(self.run(self.docker_cmd(*args)))
            except DockyardError as err:
                vanished = err.call is not None and "does not exist" in err.call.stderr
                if not vanished or attempt == _LISTING_ATTEMPTS:
                    raise
                time.sleep(0.5 * attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def prune_build_cache_records(self, record_ids: Sequence[str]) -> set[str]:
        """Remove these build-cache records in one prune (the id filter is a regex: one
        anchored alternation), asked again for what a build still held; the ids removed."""
        wanted = [i for i in dict.fromkeys(record_ids) if i]
        for record_id in wanted:
            if not re.fullmatch(r"[A-Za-z0-9]+", record_id):
                raise ValueError(f"not a build-cache record id: {record_id!r}")
        left = set(wanted)
        for attempt in range(_PRUNE_ATTEMPTS):
            if not left:
                break
            pattern = f"id=^({'|'.join(sorted(left))})$"
            try:
                self.run(self.docker_cmd("builder", "prune", "--force", "--filter", pattern))
                left &= {str(r.get("ID")) for r in self.build_cache_records()}
            except DockyardError:
                break
            if left and attempt + 1 < _PRUNE_ATTEMPTS:
                time.sleep(0.5 * (attempt + 1))
        return set(wanted) - left

    def python_in_image(self, image: str, code: str) -> str:
        """Run `python -c CODE` in a throwaway container of `image`; return its stdout."""
        return self.run(
            self.docker_cmd(
                "run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c", code
            )
        )
