"""The store: the only package that imports sqlmodel. Rows ↔ domain values.

- db.py        engine, read and write sessions, the schema brought up to date at open
- migrate.py   schema migrations (Alembic; revisions in migrations/versions/)
- tables.py    the tables
- state.py     what a check reads before it fetches
- record.py    the writes of one check, each one transaction
- rewrite.py   re-running the rules over the recorded history
- queries.py   what history, show, versions and at read
- lifecycle.py the model lifecycle registry
- outbox.py    deliveries: due, claimed, sent, failed
- schedule.py  what the daemon reads and writes to schedule checks
"""
