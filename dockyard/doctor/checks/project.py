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
