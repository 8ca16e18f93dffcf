"""Checks of the compose project as a whole: the compose file reads, no database port is
published on every interface."""

from __future__ import annotations

from dockyard.doctor.facts import ProjectFacts
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DB_IMAGES = _words(
    "postgres postgis mysql mariadb mongo redis valkey memcached elasticsearch opensearch "
    "rabbitmq cassandra couchdb neo4j clickhouse influxdb mssql oracle cockroach timescale "
    "keydb etcd zookeeper"
)
_DB_PORTS = frozenset(
    int(port)
    for port in _words(
        "5432 3306 27017 6379 11211 9200 9300 5672 9042 1433 1521 5984 7687 8123 9000 8086 "
        "26257 2379 2181"
    )
)


def looks_like_database(image: str, target: int) -> bool:
    name = image.lower().rsplit("/", 1)[-1].split(":", 1)[0]
    return target in _DB_PORTS or any(db in name for db in _DB_IMAGES)


def check_compose_file(project: ProjectFacts) -> CheckResult:
    if project.unread:
        return CheckResult("compose-file", SKIP, project.unread, scope="project")
    if project.error:
        return CheckResult("compose-file", FAIL, project.error, project.error_hint, scope="project")
    built = sum(1 for svc in project.services.values() if svc.buildable)
    return CheckResult(
        "compose-file",
        PASS,
        f"project {project.name!r}: {len(project.services)} service(s), {built} with build:",
        scope="project",
    )


def check_db_ports(project: ProjectFacts) -> CheckResult:
    if project.error or project.unread:
        return CheckResult("db-port-public", SKIP, "no compose model", scope="project")
    exposed = []
    for name, svc in project.services.items():
        for port in svc.ports:
            if not port.published:
                continue
            public = port.host_ip in ("", "0.0.0.0", "::", "[::]")
            if public and looks_like_database(svc.image, port.target):
                exposed.append(f"{name}: {port.published}->{port.target} on all interfaces")
    if exposed:
        return CheckResult(
            "db-port-public",
            WARN,
            f"database port published on every network interface: {'; '.join(exposed)}",
            'bind it to the loopback ("127.0.0.1:5432:5432") or drop `ports:` and use '
            "`docker compose exec`",
            scope="project",
            details=tuple(exposed),
        )
    return CheckResult(
        "db-port-public", PASS, "no database port published on all interfaces", scope="project"
    )


def check_team_cache(project: ProjectFacts) -> CheckResult:
    """The team cache (DOCKYARD_TEAM_CACHE) and cache exports, before a build needs them."""
    team = project.team_cache
    if project.unread or project.error:
        return CheckResult("team-cache", SKIP, "needs the compose project", scope="project")
    if team.unsupported_cache_to:
        names = ", ".join(team.unsupported_cache_to)
        return CheckResult(
            "team-cache",
            FAIL,
            f"cache_to of {names}: the classic image store's docker driver refuses cache export "
            '("Cache export is not supported for the docker driver")',
            "use type=inline, a containerd-store engine, or a docker-container builder "
            "(BUILDX_BUILDER); or DOCKYARD_TEAM_CACHE with --push-cache (inline cache)",
            scope="project",
        )
    if not team.setting:
        return CheckResult(
            "team-cache", PASS, "no team cache set (DOCKYARD_TEAM_CACHE)", scope="project"
        )
    if team.problem:
        return CheckResult("team-cache", FAIL, team.problem, team.hint, scope="project")
    if team.unreachable:
        return CheckResult(
            "team-cache",
            WARN,
            f"the registry {team.registry} is unreachable ({team.unreachable}): builds go on "
            "without the team cache, and --push-cache fails",
            "start or reach the registry, or fix DOCKYARD_TEAM_CACHE",
            scope="project",
        )
    if team.inline_misses:
        return CheckResult(
            "team-cache",
            WARN,
            f"{len(team.inline_misses)} install step(s) in stages the final stage only copies "
            "from: the inline cache this engine exports does not carry them",
            "export from a containerd-store engine (type=registry,mode=max carries every "
            "stage), or let the final stage build FROM that stage",
            scope="project",
            details=team.inline_misses,
        )
    return CheckResult(
        "team-cache",
        PASS,
        f"registry {team.registry} answers; --push-cache exports as {team.why}",
        scope="project",
        details=tuple(f"ref {ref}" for ref in team.refs),
    )
