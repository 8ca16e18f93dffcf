"""How many packages the installer downloaded, read from real captured builds (uv and pip)."""

from __future__ import annotations

import pytest

from dockyard.bench.installer import (
    InstallerCounts,
    count_installer,
    installer_counts,
    names_file,
)
from tests.unit.bench.helpers import captured


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        ("naive-cold.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("naive-code-edit.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("naive-deps-edit.rawjson", InstallerCounts("pip", 18, 18, 0)),
        ("pip-cache-cold.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("pip-cache-code-edit.rawjson", InstallerCounts()),
        ("pip-cache-deps-edit.rawjson", InstallerCounts("pip", 18, 18, 0)),
        # pip installing uv itself does not count: that step does not name requirements.txt
        ("optimized-cold.rawjson", InstallerCounts("uv", 17, 17, 0)),
        ("optimized-code-edit.rawjson", InstallerCounts()),
        ("optimized-deps-edit.rawjson", InstallerCounts("uv", 18, 1, 17)),
    ],
)
def test_installer_counts_on_real_builds(capture: str, expected: InstallerCounts) -> None:
    assert installer_counts(captured(capture), "requirements.txt") == expected


def test_without_the_requirements_name_every_install_step_counts() -> None:
    # optimized-cold: pip downloads uv (1 package), uv downloads the 17 requirements
    counts = installer_counts(captured("optimized-cold.rawjson"))
    assert counts == InstallerCounts("pip+uv", 18, 18, 0)


def test_count_installer_reads_uv_lines_of_a_real_deps_edit() -> None:
    report = captured("optimized-deps-edit.rawjson")
    lines = [line for step in report.steps for line in step.log_tail]
    assert [line for line in lines if line.startswith("Prepared ")] == [
        next(line for line in lines if line.startswith("Prepared 1 package in "))
    ]
    assert count_installer(lines) == InstallerCounts("uv", 18, 1, 17)


def test_count_installer_pip_using_cached_lines() -> None:
    # The pip cache never fills on this network (the proxy strips caching headers), so no
    # capture has `Using cached`; the lines below have pip's format (`pip/_internal/
    # operations/prepare.py`: "Using cached %s", "Downloading %s").
    lines = [
        "Collecting fastapi==0.165.0",
        "  Using cached fastapi-0.165.0-py3-none-any.whl (159 kB)",
        "Collecting six==1.17.0",
        "  Downloading six-1.17.0-py2.py3-none-any.whl.metadata (1.7 kB)",
        "  Downloading six-1.17.0-py2.py3-none-any.whl (11 kB)",
    ]
    assert count_installer(lines) == InstallerCounts("pip", 2, 1, 1)


def test_count_installer_without_installer_output() -> None:
    assert count_installer(["useradd warning: app's uid 10001 is greater"]) == (InstallerCounts())
    assert not InstallerCounts().ran


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("RUN pip install --timeout=120 -r requirements.txt", True),
        ("RUN --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt uv", True),
        ("RUN pip install --target=/opt/uv -r /tmp/uv-requirements.txt", False),
        ("RUN pip install -r requirements.txt.bak", False),
        ("RUN pip install -r dev-requirements.txt", False),
    ],
)
def test_names_file(instruction: str, expected: bool) -> None:
    assert names_file(instruction, "requirements.txt") is expected
