"""Database access: first connection with back-off, and a self-healing connection pool."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import psycopg
from psycopg_pool import ConnectionPool

from app.settings import Settings

log = logging.getLogger("app.db")


def connect_with_retry(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> psycopg.Connection:
    """Open one connection, retrying with exponential back-off (0.25 s doubling to 5 s, with
    jitter) until ``settings.connect_timeout`` has passed; then re-raise the last error."""
    deadline = clock() + settings.connect_timeout
    delay = 0.25
    attempt = 1
    while True:
        try:
            return psycopg.connect(settings.conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                log.error("database %s unreachable, giving up: %s", settings.safe_target, exc)
                raise
            wait = min(delay * random.uniform(0.8, 1.2), remaining)
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            log.warning(
                "database %s not ready (attempt %d): %s; retrying in %.1fs",
                settings.safe_target,
                attempt,
                reason,
                wait,
            )
            sleep(wait)
            delay = min(delay * 2, 5.0)
            attempt += 1


def make_pool(settings: Settings) -> ConnectionPool:
    """A pool that checks each connection before lending it (a connection lost while PostgreSQL
    restarted is discarded and replaced) and reconnects in the background with back-off."""
    return ConnectionPool(
        settings.conninfo,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"autocommit": True},
        check=ConnectionPool.check_connection,
        # A background reconnect backs off 1, 2, 4, 8, 16 s and then gives up; the next request
        # (the healthcheck polls every few seconds) starts a fresh attempt, so an outage of any
        # length is survived without ever waiting minutes between attempts.
        reconnect_timeout=30.0,
        timeout=settings.request_timeout,
        open=False,
        name="dockyard",
    )
