"""The `build` fixture: each test that takes it runs once per archive format."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.image_archives import BUILDERS, Image


@pytest.fixture(params=sorted(BUILDERS))
def build(request: pytest.FixtureRequest) -> Callable[[Image], bytes]:
    return BUILDERS[request.param]
