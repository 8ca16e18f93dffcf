"""The README documents what the code does: every doctor check id, every bad-input row's test."""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.doctor.checks import evaluate
from dockyard.doctor.facts import Facts, ProjectFacts, ServiceFacts
from tests.unit.doctor.helpers import GOOD_ENV, LIMITS

REPO = Path(__file__).resolve().parents[2]


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_readme_lists_every_check_id() -> None:
    section = readme_section("inv doctor")
    documented = re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE)
    report = evaluate(
        Facts(
            GOOD_ENV,
            ProjectFacts("p"),
            (ServiceFacts("s", Path("."), Path("Dockerfile"), b"FROM x\n", "img"),),
        ),
        LIMITS,
    )
    assert documented == [check.id for check in report.checks]


BAD_INPUT_TESTS = {
    "no `docker` on PATH": "test_no_docker_binary",
    "engine stopped": "test_daemon_down",
    "`DOCKER_HOST` pointing nowhere": "test_docker_host_pointing_nowhere",
    "wrong `DOCKER_CONTEXT` (`DOCKER_CONTEXT=nosuch inv ps`)": "test_wrong_docker_context",
    "TLS engine with a bad certificate": "test_tls_engine_with_a_bad_certificate",
    "compose file missing": "test_compose_file_missing",
    "compose file invalid YAML": "test_compose_file_invalid_yaml",
    "unknown service (`build-fast --service`, `logs`)": "test_unknown_service",
    "`.env` line python-dotenv cannot parse": "test_env_line_python_dotenv_cannot_parse",
    "Dockerfile missing": "test_dockerfile_missing",
    "Dockerfile syntax error": "test_dockerfile_syntax_error",
    "a failing `RUN`": "test_failing_run",
    "package index unreachable during the build": "test_package_index_unreachable",
    "unpullable base image (the bundled backend without `.env`, offline)": (
        "test_unpullable_base_image"
    ),
    "unpullable `COPY --from` image": "test_unpullable_copy_from_image",
    "`# syntax=` line offline": "test_syntax_line_offline",
    "unpullable `image:` at `up` (also a local name that is not there)": (
        "test_unpullable_image_at_up"
    ),
    "port already taken at `up`": "test_port_already_taken_at_up",
    "health timeout (`up --timeout 5`)": "test_health_timeout",
    "unknown image for `history` / `inspect-layers`": "test_unknown_image",
    "unwritable ledger location (`build-fast`, `timing`)": "test_unwritable_ledger",
    "ledger on a full disk": "test_ledger_on_a_full_disk",
    "corrupt ledger (not SQLite, or damaged)": "test_corrupt_ledger",
    "locked ledger (another process holds a write transaction for over 5 s)": "test_locked_ledger",
    "registry down during a build": "test_registry_down_during_a_build",
    "push refused": "test_push_refused",
    "Ctrl-C during a build": "test_ctrl_c_during_build",
    "SIGINT to the process only": "test_sigint_to_the_process_only",
    "SIGTERM during a build": "test_sigterm_during_a_build",
    "engine restarted mid-build": "test_engine_restarted_mid_build",
    "Ctrl-C during `up`": "test_ctrl_c_during_up",
    "`bench --run-id` without `--clean`": "test_bench_run_id_without_clean",
}


def test_every_bad_input_row_has_a_test() -> None:
    rows = re.findall(r"^\| (.+?) \| .+ \| [0-9 /]+ \|$", readme_section("Bad input"), re.M)
    assert rows == list(BAD_INPUT_TESTS)
    tests = (REPO / "tests" / "docker" / "test_bad_input.py").read_text(encoding="utf-8")
    for name in BAD_INPUT_TESTS.values():
        assert f"\ndef {name}(" in tests, name
