"""The build ledger: every build dockyard runs, kept in a local SQLite file.

SQLite (standard library) because a ledger must survive Ctrl-C mid-write and two builds at
once: each build is one transaction (all or nothing), WAL mode lets readers and a writer work
together, and a busy timeout makes a second writer wait instead of failing.

The ledger is a record of the work, never a reason for it to fail: see `Ledger`.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

SCHEMA_VERSION = 2  # 2: service_builds.team_cache
_HEADER = b"SQLite format 3\x00"  # how every SQLite database file starts

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
    error         TEXT,
    team_cache    TEXT                   -- JSON {ref, imported, export, pushed, push_error}
);
CREATE INDEX IF NOT EXISTS service_builds_by_service ON service_builds(service, build_id);
"""


# Another writer holds the ledger at most this long before a build gives up recording (a
# build's own transaction takes milliseconds, so two builds at once still both land).
BUSY_TIMEOUT_S = 5.0

Fault = Literal["corrupt", "full", "locked", "unusable"]

_HINTS: dict[Fault, str] = {
    "corrupt": "nothing to do: the damaged file is kept for inspection; delete it when done",
    "full": "free space on that disk, or set DOCKYARD_STATE_DIR (or DOCKYARD_LEDGER) elsewhere",
    "locked": "another process holds the ledger (a sqlite3 shell? a stuck dockyard?); "
    "close it, or set DOCKYARD_LEDGER elsewhere",
    "unusable": "set DOCKYARD_LEDGER (or DOCKYARD_STATE_DIR) to a writable place",
}


def fault_of(exc: BaseException) -> Fault:
    """What kind of trouble an OSError or sqlite3 error means for the ledger."""
    if isinstance(exc, OSError):
        return "full" if exc.errno == errno.ENOSPC else "unusable"
    name = str(getattr(exc, "sqlite_errorname", "") or "")  # Python 3.11+
    text = str(exc)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or (
        "malformed" in text or "not a database" in text
    ):
        return "corrupt"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in text:
        return "locked"
    return "unusable"


@dataclass(frozen=True)
class LedgerWarning:
    """Something the ledger could not do; the work went on. One line, with a hint."""

    message: str
    hint: str


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
    # The team-cache refs the build used (refs only, never a credential); None without one.
    team_cache: dict[str, Any] | None = None
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


T = TypeVar("T")


class Ledger:
    """The ledger file, used so that it never fails the work.

    A ledger that cannot be read or written (unwritable place, full disk, held by another
    process past BUSY_TIMEOUT_S) is skipped, and a damaged one is set aside
    (`<name>.corrupt-<UTC time>`, WAL and SHM files too) and a new one started; what happened
    is in `warnings`, one line per fault, for the task to show. After a fault other than
    damage, the rest of the run leaves the ledger alone (no second wait on a lock).
    """

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._fault: tuple[Fault, str] | None = None
        self._missed: set[str] = set()  # "read" / "record": what the fault cost
        self._set_aside: list[tuple[str, Path]] = []  # (why, where the damaged file went)

    # -- faults -----------------------------------------------------------------------------
    @property
    def warnings(self) -> list[LedgerWarning]:
        found = [
            LedgerWarning(
                f"the build ledger at {self.path} was damaged ({why}): kept as {aside.name}, "
                "a new ledger is started",
                _HINTS["corrupt"],
            )
            for why, aside in self._set_aside
        ]
        if self._fault is not None:
            fault, why = self._fault
            if "record" in self._missed:
                what = "this build was not recorded in the build ledger"
                if "read" in self._missed:
                    what += " (nor earlier builds read)"
            else:
                what = "earlier builds could not be read from the build ledger"
            found.append(LedgerWarning(f"{what} at {self.path}: {why}", _HINTS[fault]))
        return found

    def _guarded(self, use: str, action: Callable[[], T], fallback: T) -> T:
        """`action()`, or `fallback` with the fault kept for `warnings`."""
        if self._fault is not None:
            self._missed.add(use)
            return fallback
        try:
            self._check_header()
            return action()
        except (OSError, sqlite3.Error) as exc:
            if fault_of(exc) == "corrupt" and self._move_aside(exc):
                try:
                    return action()  # on a new file
                except (OSError, sqlite3.Error) as again:
                    exc = again
            fault = fault_of(exc)
            if fault == "corrupt":  # damaged, and it could not be moved aside
                fault, exc = "unusable", OSError(f"{exc}; the file cannot be renamed")
            self._fault = (fault, str(exc))
            self._missed.add(use)
            return fallback

    def _check_header(self) -> None:
        """A file that is not SQLite is damage found before SQLite opens it: SQLite would
        delete its -wal file on close, and that file may be all that is left of the builds."""
        try:
            with self.path.open("rb") as handle:
                head = handle.read(len(_HEADER))
        except FileNotFoundError:
            return
        if head and head != _HEADER:
            raise sqlite3.DatabaseError("file is not a database")  # SQLite's words for it

    def _move_aside(self, exc: BaseException) -> bool:
        """Rename the damaged ledger and its -wal/-shm/-journal files; never deletes them."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        number = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{number}")
            number += 1
        try:
            self.path.replace(aside)
            for suffix in ("-wal", "-shm", "-journal"):
                sibling = self.path.with_name(self.path.name + suffix)
                if sibling.exists():
                    sibling.replace(aside.with_name(aside.name + suffix))
        except OSError:
            return False
        self._set_aside.append((str(exc), aside))
        return True

    # -- SQLite -----------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        with closing(connection):
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            yield connection

    @staticmethod
    def _has_tables(db: sqlite3.Connection) -> bool:
        found = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='service_builds'"
        ).fetchone()
        return bool(found and found[0])

    @staticmethod
    def _has_team_cache(db: sqlite3.Connection) -> bool:
        """Whether the file has schema 2's column (a ledger of schema 1 gains it on its next
        write; until then reads see no team cache)."""
        return any(
            row[1] == "team_cache" for row in db.execute("PRAGMA table_info(service_builds)")
        )

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Schema 1 -> 2: one nullable column, so every older row stays as it was."""
        if not self._has_team_cache(db):
            db.execute("ALTER TABLE service_builds ADD COLUMN team_cache TEXT")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def record(self, build: BuildRecord) -> int:
        """Store a build and its services in one transaction; returns the build id, or 0 when
        the ledger could not keep it (see `warnings`)."""
        return self._guarded("record", lambda: self._record(build), 0)

    def _record(self, build: BuildRecord) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            if not self._has_tables(db):
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._migrate(db)
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
                        " base_digest, context_digest, steps, reasons, context, build_args, error,"
                        " team_cache) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                            json.dumps(svc.team_cache) if svc.team_cache is not None else None,
                        ),
                    )
                db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does): keep the first error.
                if db.in_transaction:
                    with suppress(sqlite3.Error):
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
        """Most recent service builds first, filtered; never creates the file to read it.
        [] when the ledger cannot be read (see `warnings`)."""
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
        # Newest first, in the order an index gives without sorting every row: per service,
        # the (service, build_id) index; else the rowid, which grows with build_id (a build
        # writes its services right after its own row), read backwards until LIMIT.
        order = "s.build_id DESC, s.id DESC" if services else "s.id DESC"
        query = (
            "SELECT s.service, s.status, s.seconds, s.steps_total, s.steps_cached, s.cache_ratio,"
            " s.image, s.image_id, s.image_size, s.base_digest, s.context_digest, s.steps,"
            f" s.reasons, {context_column}, s.build_args, s.error, s.build_id, b.started_at,"
            " b.git_commit, s.team_cache FROM service_builds s JOIN builds b ON b.id = s.build_id"
            f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        )
        return self._guarded("read", lambda: self._rows(query, [*params, last]), [])

    def _rows(self, query: str, params: list[object]) -> list[ServiceBuild]:
        if not self.path.exists():  # set aside just now
            return []
        with self._connect() as db:
            if not self._has_tables(db):
                return []
            if not self._has_team_cache(db):  # schema 1, not written to since
                query = query.replace("s.team_cache", "NULL")
            rows = db.execute(query, params).fetchall()
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
                team_cache=json.loads(row[19]) if row[19] else None,
            )
            for row in rows
        ]

    def previous_ok(self, service: str, project: str) -> ServiceBuild | None:
        """The last successful build of a service, with its context fingerprint."""
        found = self.service_builds(
            services=[service], project=project, last=1, status="ok", with_context=True
        )
        return found[0] if found else None
