"""Article-search API: FastAPI on PostgreSQL full-text search."""
