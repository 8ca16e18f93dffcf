"""Checks of what a service's build sends: no secret-looking files, LF line endings in what
the image executes, a context of sane size, and a `.dockerignore` whose patterns reach every
directory they are meant for."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard import dockerignore
from dockyard.doctor.checks.common import service_result
from dockyard.doctor.executed import executed_names, has_crlf, is_shell_script
from dockyard.doctor.facts import ContextFile, ServiceFacts, Thresholds
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult
from dockyard.doctor.secret_files import secret_kind
from dockyard.units import format_size


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


LARGEST_SHOWN = 5
# Per-directory by nature: a root-only pattern for these is almost always a mistake.
_EVERYWHERE_NAMES = _words(
    "*.pyc *.pyo *.pyd __pycache__ .DS_Store Thumbs.db desktop.ini node_modules *.swp *.swo *~ "
    "*.orig *.rej"
)


def root_only_patterns(patterns: Sequence[str], files: Sequence[str]) -> list[str]:
    """Patterns that match only at the root but look meant for every directory."""
    plain = [p for p in patterns if not p.startswith("!")]
    present = set(plain)
    found = []
    for pattern in plain:
        if "/" in pattern or pattern.startswith("**") or f"**/{pattern}" in present:
            continue
        deeper = dockerignore.DockerIgnore([f"**/{pattern}"])
        leaking = [f for f in files if "/" in f and deeper.excluded(f)]
        glob = any(ch in pattern for ch in "*?[")
        if pattern in _EVERYWHERE_NAMES or (glob and leaking):
            found.append(_root_only_text(pattern, leaking))
    return found


def _root_only_text(pattern: str, leaking: Sequence[str]) -> str:
    text = f"`{pattern}` matches only at the context root (use `**/{pattern}`)"
    if leaking:
        shown = ", ".join(leaking[:3]) + (", ..." if len(leaking) > 3 else "")
        text += f"; it lets in {len(leaking)} file(s): {shown}"
    return text


def largest_entries(
    files: Sequence[ContextFile], limit: int = LARGEST_SHOWN
) -> list[tuple[str, int, int]]:
    """(top-level entry, bytes, files) of the context, biggest first."""
    sizes: dict[str, list[int]] = {}
    for f in files:
        head, sep, _ = f.path.partition("/")
        key = head + "/" if sep else head
        entry = sizes.setdefault(key, [0, 0])
        entry[0] += f.size
        entry[1] += 1
    ranked = sorted(sizes.items(), key=lambda item: (-item[1][0], item[0]))
    return [(name, size, count) for name, (size, count) in ranked[:limit]]


def check_secrets(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    if svc.remote_context:
        return service_result(svc, "secrets-in-context", SKIP, "remote build context")
    found = [(f.path, kind) for f in svc.files if (kind := secret_kind(f.path))]
    if found:
        names = ", ".join(path for path, _ in found[:5]) + (", ..." if len(found) > 5 else "")
        return service_result(
            svc,
            "secrets-in-context",
            FAIL,
            f"{len(found)} secret-looking file(s) would enter the build context: {names}",
            "add them to .dockerignore (e.g. `**/.env`, `**/*.pem`); pass secrets with "
            "`RUN --mount=type=secret` or at run time, never through the context",
            [f"{path} ({kind})" for path, kind in found],
        )
    return service_result(
        svc,
        "secrets-in-context",
        PASS,
        f"no secret-looking files among the {len(svc.files)} that enter the context",
    )


def check_crlf(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """The Dockerfile, every `*.sh` / `*.bash` of the context, and the context files the image
    executes (named in RUN / CMD / ENTRYPOINT / HEALTHCHECK or compose) that start with `#!`."""
    bad = []
    if svc.dockerfile_bytes is not None and has_crlf(svc.dockerfile_bytes):
        bad.append(svc.dockerfile_label)
    executed = executed_names(svc.dockerfile, svc.command_words)
    checked = 0
    for path, data in sorted(svc.file_texts.items()):
        name = path.rsplit("/", 1)[-1]
        script = is_shell_script(path) or (name in executed and data.startswith(b"#!"))
        if not script:
            continue
        checked += 1
        if has_crlf(data) and path not in bad:
            bad.append(path)
    if bad:
        return service_result(
            svc,
            "crlf-line-endings",
            FAIL,
            f"CRLF line endings in {', '.join(bad)}: scripts then fail in the container with "
            "`/bin/sh^M: bad interpreter` or `$'\\r': command not found`",
            "convert to LF (`git add --renormalize .` after adding `*.sh text eol=lf` to "
            ".gitattributes, or `dos2unix`)",
            bad,
        )
    return service_result(
        svc,
        "crlf-line-endings",
        PASS,
        f"LF line endings in the Dockerfile and {checked} script(s) the image runs",
    )


def check_context_size(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    if svc.remote_context:
        return service_result(svc, "context-size", SKIP, "remote build context")
    total = sum(f.size for f in svc.files)
    count = len(svc.files)
    top = largest_entries(svc.files)
    details = [f"{name}  {format_size(size)} ({n} file(s))" for name, size, n in top]
    reason = f"{format_size(total)} in {count} file(s) sent to the builder"
    if total > limits.context_bytes or count > limits.context_files:
        over = []
        if total > limits.context_bytes:
            over.append(f"over {format_size(limits.context_bytes)} (DOCKYARD_DOCTOR_CONTEXT_MB)")
        if count > limits.context_files:
            over.append(f"over {limits.context_files} files (DOCKYARD_DOCTOR_CONTEXT_FILES)")
        biggest = f"; largest: {top[0][0]} {format_size(top[0][1])}" if top else ""
        return service_result(
            svc,
            "context-size",
            WARN,
            f"{reason}, {' and '.join(over)}{biggest}",
            "add what the image does not need to .dockerignore (virtualenvs, node_modules, "
            ".git, data, build output)",
            details,
        )
    return service_result(svc, "context-size", PASS, reason, details=details)


def check_dockerignore(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """A pattern without `/` matches only at the context root: reported when it looks meant for
    every directory (a per-directory name, or a glob that lets a deeper match in right now)."""
    if svc.remote_context:
        return service_result(svc, "dockerignore", SKIP, "remote build context")
    if svc.ignore_file is None:
        return service_result(
            svc,
            "dockerignore",
            WARN,
            f"no .dockerignore: every file under {svc.context_dir} is sent to the builder",
            "add a .dockerignore (at least .git, **/.env, virtualenvs, **/__pycache__)",
        )
    problems = root_only_patterns(svc.ignore_patterns, [f.path for f in svc.files])
    if problems:
        return service_result(
            svc,
            "dockerignore",
            WARN,
            problems[0],
            "prefix patterns meant for every directory with **/ (`**/*.pyc`, `**/__pycache__`)",
            problems,
        )
    return service_result(
        svc,
        "dockerignore",
        PASS,
        f"{svc.ignore_file.name}: {len(svc.ignore_patterns)} pattern(s), none root-only by mistake",
    )
