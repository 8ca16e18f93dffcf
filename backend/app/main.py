"""The HTTP API: health, articles, and ranked full-text search."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import psycopg
from fastapi import FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import BaseModel, Field

from app.db import make_pool
from app.settings import Settings

log = logging.getLogger("app")


class ArticleIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(max_length=1_000_000)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )


class Article(ArticleIn):
    id: int
    created_at: datetime


class SearchHit(BaseModel):
    id: int
    title: str
    tags: list[str]
    rank: float
    snippet: str


class SearchResult(BaseModel):
    query: str
    count: int
    results: list[SearchHit]


SEARCH_SQL = """
SELECT a.id, a.title, a.tags,
       ts_rank(a.search, q) AS rank,
       ts_headline('english', a.body, q,
                   'StartSel=<b>, StopSel=</b>, MaxWords=35, MinWords=15, MaxFragments=2')
           AS snippet
FROM articles AS a, websearch_to_tsquery('english', %(q)s) AS q
WHERE a.search @@ q
  AND (%(tag)s::text IS NULL OR a.tags @> ARRAY[%(tag)s::text])
ORDER BY rank DESC, a.id
LIMIT %(limit)s
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    settings = Settings.from_env()
    pool = make_pool(settings)
    # Do not block start-up on the database: the pool connects (and reconnects) in the
    # background with back-off, and /health answers 503 until PostgreSQL does.
    pool.open(wait=False)
    app.state.pool = pool
    app.state.settings = settings
    log.info("serving; database %s", settings.safe_target)
    try:
        yield
    finally:
        pool.close(timeout=2.0)


app = FastAPI(title="dockyard article search", version="0.1.0", lifespan=lifespan)


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


@app.exception_handler(PoolTimeout)
@app.exception_handler(psycopg.OperationalError)
async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "database unavailable"},
        headers={"Retry-After": "2"},
    )


@app.get("/health")
def health(request: Request) -> JSONResponse:
    """200 only when the database answers ``SELECT 1``; 503 otherwise."""
    try:
        with _pool(request).connection(timeout=2.0) as conn:
            conn.execute("SELECT 1").fetchone()
    except (PoolTimeout, psycopg.Error) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"status": "unavailable", "database": reason},
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@app.post("/articles", status_code=status.HTTP_201_CREATED, response_model=Article)
def create_article(article: ArticleIn, request: Request, response: Response) -> Article:
    with _pool(request).connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "INSERT INTO articles (title, body, tags) VALUES (%s, %s, %s)"
            " RETURNING id, title, body, tags, created_at",
            (article.title, article.body, article.tags),
        )
        row = cur.fetchone()
    assert row is not None
    response.headers["Location"] = f"/articles/{row['id']}"
    return Article(**row)


@app.get("/articles/{article_id}", response_model=Article)
def get_article(article_id: int, request: Request) -> Article:
    with _pool(request).connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, title, body, tags, created_at FROM articles WHERE id = %s",
            (article_id,),
        )
        row = cur.fetchone()
    if row is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="article not found")
    return Article(**row)


@app.get("/search", response_model=SearchResult)
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="web-search syntax")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> SearchResult:
    """Articles matching ``q`` (``websearch_to_tsquery``), best ``ts_rank`` first."""
    with _pool(request).connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(SEARCH_SQL, {"q": q, "tag": tag, "limit": limit})
        rows = cur.fetchall()
    hits = [SearchHit(**row) for row in rows]
    return SearchResult(query=q, count=len(hits), results=hits)
