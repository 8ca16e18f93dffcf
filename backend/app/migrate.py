"""Idempotent schema set-up: ``python -m app.migrate``.

Safe to run on every start: every statement is ``IF NOT EXISTS``. The search vector is a
generated column (title weighted A, body B) with a GIN index, so inserts need no trigger.
"""

from __future__ import annotations

import logging
import sys

import psycopg

from app.db import connect_with_retry
from app.settings import Settings

log = logging.getLogger("app.migrate")

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS articles (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        title       text        NOT NULL,
        body        text        NOT NULL,
        tags        text[]      NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        search      tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(title, '')), 'A')
            || setweight(to_tsvector('english', coalesce(body, '')), 'B')
        ) STORED
    )
    """,
    "CREATE INDEX IF NOT EXISTS articles_search_idx ON articles USING gin (search)",
    "CREATE INDEX IF NOT EXISTS articles_tags_idx ON articles USING gin (tags)",
)

# Serialises concurrent migrations (several replicas starting at once).
_LOCK_KEY = 0x646F636B  # "dock"


def migrate(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        for statement in SCHEMA:
            conn.execute(statement)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    try:
        with connect_with_retry(settings) as conn:
            migrate(conn)
    except psycopg.Error as exc:
        log.error("migration failed: %s", exc)
        return 1
    log.info("schema ready on %s", settings.safe_target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
