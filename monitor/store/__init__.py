"""The store: the only package that imports sqlmodel. Rows ↔ domain values.

- db.py        engine, read and write sessions
- tables.py    the tables
- record.py    the writes of one check, each one transaction
- queries.py   what history, show, versions and at read
- lifecycle.py the model lifecycle registry
- outbox.py    deliveries: due, claimed, sent, failed
"""
