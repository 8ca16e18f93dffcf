"""The doctor's checks, pure functions from facts to a `CheckResult`, in the order they report:
environment, then the compose project, then each service with `build:`."""

from __future__ import annotations

from collections.abc import Callable

from dockyard.doctor.checks import environment, project, service_context, service_dockerfile
from dockyard.doctor.facts import EnvironmentFacts, Facts, ProjectFacts, ServiceFacts, Thresholds
from dockyard.doctor.report import CheckResult, Report

ENVIRONMENT_CHECKS: tuple[Callable[[EnvironmentFacts, Thresholds], CheckResult], ...] = (
    environment.check_docker_binary,
    environment.check_docker_daemon,
    environment.check_buildkit,
    environment.check_compose,
    environment.check_build_path,
    environment.check_step_data,
    environment.check_image_store,
    environment.check_disk_free,
    environment.check_env_file,
)

PROJECT_CHECKS: tuple[Callable[[ProjectFacts], CheckResult], ...] = (
    project.check_compose_file,
    project.check_db_ports,
    project.check_team_cache,
)

SERVICE_CHECKS: tuple[Callable[[ServiceFacts, Thresholds], CheckResult], ...] = (
    service_dockerfile.check_dockerfile,
    service_context.check_secrets,
    service_dockerfile.check_syntax_directive,
    service_context.check_crlf,
    service_dockerfile.check_copy_before_install,
    service_dockerfile.check_cache_mount,
    service_dockerfile.check_add_url,
    service_dockerfile.check_root_user,
    service_dockerfile.check_cache_from,
    service_context.check_context_size,
    service_context.check_dockerignore,
    service_dockerfile.check_requirements,
    service_dockerfile.check_hadolint,
)


def evaluate(facts: Facts, limits: Thresholds) -> Report:
    """Run every check over the gathered facts (pure)."""
    results = [check(facts.environment, limits) for check in ENVIRONMENT_CHECKS]
    if facts.project.name or facts.project.error or facts.project.unread:
        results += [check(facts.project) for check in PROJECT_CHECKS]
    for svc in facts.services:
        results += [check(svc, limits) for check in SERVICE_CHECKS]
    return Report(tuple(results), stack=facts.environment.stack)
