"""The report's JSON shape and its rendering, exact text."""

from __future__ import annotations

import io

from rich.console import Console

from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult, Report
from dockyard.render import doctor as render_doctor


def test_report_json_shape() -> None:
    report = Report(
        (
            CheckResult("docker-binary", PASS, "/usr/bin/docker"),
            CheckResult("syntax-directive", WARN, "w", "fix it", scope="service app"),
        )
    )
    data = report.to_dict()
    assert data["ok"] is True
    assert data["summary"] == {"pass": 1, "warn": 1, "fail": 0, "skip": 0}
    assert data["checks"][1] == {
        "id": "syntax-directive",
        "scope": "service app",
        "status": "WARN",
        "reason": "w",
        "fix": "fix it",
        "details": [],
    }


def test_render_exact_text() -> None:
    report = Report(
        (
            CheckResult("docker-binary", PASS, "/usr/bin/docker (client 28.2.2)"),
            CheckResult("disk-free", SKIP, "free disk unknown"),
            CheckResult(
                "secrets-in-context",
                FAIL,
                "2 secret-looking file(s) would enter the build context: .env, [x].pem",
                "add them to .dockerignore",
                scope="service app",
                details=(".env (environment file)", "[x].pem (PEM key or certificate)"),
            ),
            CheckResult(
                "cache-from",
                WARN,
                "cache_from cannot help: a is a base image",
                "use inline cache",
                scope="service app",
                details=("a is a base image",),
            ),
        )
    )
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    render_doctor.print_report(console, report)
    assert out.getvalue() == (
        "Environment\n"
        "  PASS  docker-binary          /usr/bin/docker (client 28.2.2)\n"
        "  SKIP  disk-free              free disk unknown\n"
        "\n"
        "Service app\n"
        "  FAIL  secrets-in-context     2 secret-looking file(s) would enter the build context: "
        ".env, [x].pem\n"
        "                               fix: add them to .dockerignore\n"
        "                               - .env (environment file)\n"
        "                               - [x].pem (PEM key or certificate)\n"
        "  WARN  cache-from             cache_from cannot help: a is a base image\n"
        "                               fix: use inline cache\n"
        "\n"
        "\u2717 doctor: 1 passed, 1 warning, 1 failed, 1 skipped\n"
    )


def test_render_at_80_columns_wraps_beside_the_status_at_words() -> None:
    report = Report(
        (
            CheckResult(
                "secrets-in-context",
                FAIL,
                "2 secret-looking file(s) would enter the build context: .env, [x].pem",
                "add them to .dockerignore, or move them out of the build context",
                scope="service app",
                details=(
                    "app/config/deeply/nested/folder/with/a/long/name/credentials.env (env file)",
                    "[x].pem (PEM key or certificate)",
                ),
            ),
        )
    )
    out = io.StringIO()
    render_doctor.print_report(Console(file=out, width=80, color_system=None), report)
    assert out.getvalue().splitlines() == [
        "Service app",
        "  FAIL  secrets-in-context     2 secret-looking file(s) would enter the build",
        "                               context: .env, [x].pem",
        "                               fix: add them to .dockerignore, or move them out",
        "                               of the build context",
        "                               - app/config/deeply/nested/folder/with/a/long",
        "                                 /name/credentials.env (env file)",
        "                               - [x].pem (PEM key or certificate)",
        "",
        "\u2717 doctor: 0 passed, 0 warnings, 1 failed",
    ]
