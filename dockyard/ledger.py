"""The build ledger: every build dockyard runs, kept in a local SQLite file.

SQLite (standard library) because a ledger must survive Ctrl-C mid-write and two builds at
once: each build is one transaction (all or nothing), WAL mode lets readers and a writer work
together, and a busy timeout makes a second writer wait instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    seconds      REAL NOT NULL,
    status       TEXT NOT NULL,          -- ok | failed | interrupted
    project      TEXT NOT NULL,
    services     TEXT NOT NULL,          -- JSON list
    git_commit   TEXT,
    no_cache     INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE TABLE IF NOT EXISTS service_builds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id      INTEGER NOT NULL REFERENCES builds(id),
    service       TEXT NOT NULL,
    status        TEXT NOT NULL,
    seconds       REAL,
    steps_total   INTEGER NOT NULL,
    steps_cached  INTEGER NOT NULL,
    cache_ratio   REAL,
    image         TEXT,
    image_id      TEXT,
    image_size    INTEGER,
    base_digest   TEXT,
    context_digest TEXT,
    steps         TEXT NOT NULL,         -- JSON list of step dicts
    reasons       TEXT NOT NULL,         -- JSON {step key: why it re-ran}
    context       TEXT NOT NULL,         -- JSON fingerprint {path: [size, sha256, lines]}
    build_args    TEXT NOT NULL,         -- JSON {name: value}
    error         TEXT
);
CREATE INDEX IF NOT EXISTS service_builds_by_service ON service_builds(service, build_id);
"""


class LedgerError(DockyardError):
    """The ledger file cannot be opened or written."""


@dataclass
class ServiceBuild:
    """What one service's build produced and how long each step took."""

    service: str
    status: str
    seconds: float | None
    steps_total: int
    steps_cached: int
    cache_ratio: float | None
    image: str = ""
    image_id: str = ""
    image_size: int | None = None
    base_digest: str = ""
    context_digest: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    build_args: dict[str, str] = field(default_factory=dict)
    error: str = ""
    # Filled in when read back from the ledger.
    build_id: int = 0
    started_at: str = ""
    git_commit: str = ""

    def to_dict(self, *, with_context: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_context:
            data.pop("context")
        return data


@dataclass
class BuildRecord:
    started_at: str
    finished_at: str
    seconds: float
    status: str
    project: str
    services: list[ServiceBuild]
    git_commit: str = ""
    no_cache: bool = False
    error: str = ""


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        with closing(connection):
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA busy_timeout=30000")
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                yield connection
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None

    def _error(self, exc: BaseException) -> LedgerError:
        return LedgerError(
            f"cannot use the build ledger at {self.path}: {exc}",
            "set DOCKYARD_LEDGER (or DOCKYARD_STATE_DIR) to a writable place",
        )

    def check_writable(self) -> None:
        """Fail before a build, not after it, when the ledger cannot be written."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")

    def record(self, build: BuildRecord) -> int:
        """Store a build and its services in one transaction; returns the build id."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO builds (started_at, finished_at, seconds, status, project,"
                    " services, git_commit, no_cache, error) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        build.started_at,
                        build.finished_at,
                        build.seconds,
                        build.status,
                        build.project,
                        json.dumps([s.service for s in build.services]),
                        build.git_commit or None,
                        int(build.no_cache),
                        build.error or None,
                    ),
                )
                build_id = int(cursor.lastrowid or 0)
                for svc in build.services:
                    db.execute(
                        "INSERT INTO service_builds (build_id, service, status, seconds,"
                        " steps_total, steps_cached, cache_ratio, image, image_id, image_size,"
                        " base_digest, context_digest, steps, reasons, context, build_args, error)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            build_id,
                            svc.service,
                            svc.status,
                            svc.seconds,
                            svc.steps_total,
                            svc.steps_cached,
                            svc.cache_ratio,
                            svc.image,
                            svc.image_id,
                            svc.image_size,
                            svc.base_digest,
                            svc.context_digest,
                            json.dumps(svc.steps),
                            json.dumps(svc.reasons),
                            json.dumps(svc.context),
                            json.dumps(svc.build_args),
                            svc.error or None,
                        ),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return build_id

    def service_builds(
        self,
        *,
        services: Sequence[str] = (),
        project: str | None = None,
        last: int = 20,
        status: str | None = None,
        before_build: int | None = None,
        with_context: bool = False,
    ) -> list[ServiceBuild]:
        """Most recent service builds first, filtered; never creates the file to read it."""
        if not self.path.exists():
            return []
        where: list[str] = ["1=1"]
        params: list[object] = []
        if services:
            where.append(f"s.service IN ({','.join('?' * len(services))})")
            params.extend(services)
        if project is not None:
            where.append("b.project = ?")
            params.append(project)
        if status is not None:
            where.append("s.status = ?")
            params.append(status)
        if before_build is not None:
            where.append("s.build_id < ?")
            params.append(before_build)
        context_column = "s.context" if with_context else "'{}'"
        query = (
            "SELECT s.service, s.status, s.seconds, s.steps_total, s.steps_cached, s.cache_ratio,"
            " s.image, s.image_id, s.image_size, s.base_digest, s.context_digest, s.steps,"
            f" s.reasons, {context_column}, s.build_args, s.error, s.build_id, b.started_at,"
            " b.git_commit FROM service_builds s JOIN builds b ON b.id = s.build_id"
            f" WHERE {' AND '.join(where)} ORDER BY s.build_id DESC, s.id DESC LIMIT ?"
        )
        with self._connect() as db:
            rows = db.execute(query, [*params, last]).fetchall()
        return [
            ServiceBuild(
                service=row[0],
                status=row[1],
                seconds=row[2],
                steps_total=row[3],
                steps_cached=row[4],
                cache_ratio=row[5],
                image=row[6] or "",
                image_id=row[7] or "",
                image_size=row[8],
                base_digest=row[9] or "",
                context_digest=row[10] or "",
                steps=json.loads(row[11]),
                reasons=json.loads(row[12]),
                context=json.loads(row[13]),
                build_args=json.loads(row[14]),
                error=row[15] or "",
                build_id=row[16],
                started_at=row[17],
                git_commit=row[18] or "",
            )
            for row in rows
        ]

    def previous_ok(self, service: str, project: str) -> ServiceBuild | None:
        """The last successful build of a service, with its context fingerprint."""
        found = self.service_builds(
            services=[service], project=project, last=1, status="ok", with_context=True
        )
        return found[0] if found else None
