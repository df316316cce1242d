"""Schema migrations: Alembic revisions under versions/, run by monitor/store/migrate.py.

HEAD names the newest revision, so start-up compares it with the database's stored revision
without importing Alembic; `python -m monitor.store.migrations revision MESSAGE` writes the next
revision and moves HEAD (a test checks HEAD against the revisions)."""

HEAD = "0002"
