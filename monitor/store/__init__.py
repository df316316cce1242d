"""The store: the only package that imports sqlmodel. Rows ↔ domain values.

- db.py        engine, read and write sessions, the schema brought up to date at open
- migrate.py   schema migrations (Alembic; revisions in migrations/versions/)
- tables.py    the tables (SQLModel classes: the migrations and the reading side)
- schema.py    the same tables in SQLAlchemy Core: what a check reads and writes, no ORM
- state.py     what a check reads before it fetches
- record.py    the writes of one check, each one transaction
- rewrite.py   re-running the rules over the recorded history
- queries.py   what history, show, versions and at read
- lifecycle.py the model lifecycle registry
- outbox.py    deliveries: due, claimed, sent, failed
- schedule.py  what the daemon reads and writes to schedule checks
- browse.py    what the web UI reads: pages of changes, timelines, coverage
- reviewers.py who may sign changes off (tokens kept as SHA-256)
- audit_log.py appending to the hash-chained audit log, in the transaction of the row it records
- audit_reads.py what verify and export read: the chain, rows against their events, a period
- backfill.py  the audit log of a database recorded before the log existed, written once
- reviews.py   reviews of changes, never edited or deleted
"""
