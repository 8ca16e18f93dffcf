"""Unit tests of the API's settings and start-up retry; no database or Docker needed.

Run with the backend's dependencies installed:  python -m pytest backend/tests -q
(excluded from the image by backend/.dockerignore).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("psycopg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from app.db import connect_with_retry
from app.settings import Settings
from psycopg.conninfo import conninfo_to_dict


def test_defaults_point_at_the_compose_service() -> None:
    settings = Settings.from_env({})
    parts = conninfo_to_dict(settings.conninfo)
    assert parts["host"] == "postgres"
    assert parts["port"] == "5432"
    assert parts["dbname"] == "articles"
    assert settings.safe_target == "postgres:5432/articles"


def test_password_with_spaces_and_quotes_is_quoted() -> None:
    env = {"POSTGRES_PASSWORD": "s3cr et'\"x", "POSTGRES_HOST": "db", "POSTGRES_PORT": "6543"}
    settings = Settings.from_env(env)
    assert conninfo_to_dict(settings.conninfo)["password"] == "s3cr et'\"x"
    assert "s3cr" not in settings.safe_target
    assert "s3cr" not in repr(settings)


def test_database_url_wins() -> None:
    env = {"DATABASE_URL": "postgresql://u:p@dbhost:7777/other", "POSTGRES_HOST": "ignored"}
    assert Settings.from_env(env).safe_target == "dbhost:7777/other"


def test_bad_number_is_reported_by_name() -> None:
    with pytest.raises(ValueError, match="DB_CONNECT_TIMEOUT"):
        Settings.from_env({"DB_CONNECT_TIMEOUT": "soon"})


def test_connect_retries_with_growing_back_off_then_gives_up() -> None:
    # Port 1 on localhost refuses at once; a fake clock makes the test instant.
    settings = Settings(
        conninfo="host=127.0.0.1 port=1 user=x dbname=x connect_timeout=1", connect_timeout=10
    )
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(psycopg.OperationalError):
        connect_with_retry(settings, sleep=sleep, clock=lambda: now[0])
    assert len(sleeps) >= 4
    assert sleeps[1] > sleeps[0] and sleeps[2] > sleeps[1]
    assert max(sleeps) <= 5.0 * 1.2
    assert sum(sleeps) == pytest.approx(10, abs=0.01)
