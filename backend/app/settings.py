"""Settings from the environment.

DATABASE_URL wins when set; otherwise the connection is built from POSTGRES_HOST (default
``postgres``, the compose service name), POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD and
POSTGRES_DB. The password is never logged: use ``Settings.safe_target`` in messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from psycopg.conninfo import conninfo_to_dict, make_conninfo


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    conninfo: str = field(repr=False)
    # How long start-up (migrations, first pool connection) keeps retrying the database.
    connect_timeout: float = 60.0
    # How long a request waits for a pooled connection before answering 503.
    request_timeout: float = 5.0
    pool_min_size: int = 1
    pool_max_size: int = 5

    @property
    def safe_target(self) -> str:
        """host:port/dbname of the database, without credentials."""
        parts = conninfo_to_dict(self.conninfo)
        host = parts.get("host") or "localhost"
        port = parts.get("port") or "5432"
        return f"{host}:{port}/{parts.get('dbname', '')}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL", "").strip()
        if url:
            conninfo = make_conninfo(url)
        else:
            conninfo = make_conninfo(
                host=env.get("POSTGRES_HOST", "postgres"),
                port=env.get("POSTGRES_PORT", "5432"),
                user=env.get("POSTGRES_USER", "articles"),
                password=env.get("POSTGRES_PASSWORD", "articles"),
                dbname=env.get("POSTGRES_DB", "articles"),
                connect_timeout="5",
                application_name="dockyard-backend",
            )
        return cls(
            conninfo=conninfo,
            connect_timeout=_float(env, "DB_CONNECT_TIMEOUT", 60.0),
            request_timeout=_float(env, "DB_REQUEST_TIMEOUT", 5.0),
            pool_min_size=int(_float(env, "DB_POOL_MIN_SIZE", 1)),
            pool_max_size=int(_float(env, "DB_POOL_MAX_SIZE", 5)),
        )
