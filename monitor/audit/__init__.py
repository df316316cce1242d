"""The audit log: an append-only, hash-chained record of every check, snapshot, version, change,
delivery, review and watchlist load, and the evidence exported from it.

- chain.py       canonical JSON and event hashing (pure); the store appends in the row's transaction
- standalone.py  the bundle verifier, standard library only; copied into every bundle as verify.py;
                 it defines the `check_pass` payload, so writer and verifiers hash checks alike
- bundle.py      the zip bundle writer (deterministic: fixed timestamps and order)
- flat.py        the jsonl and csv writers
- warc.py        the WARC writer (the only module that imports warcio)
- signing.py     Ed25519 keys and signatures (the only module that imports cryptography)
- coverage.py    per-watch coverage and gaps from a stream of checks (pure)
- verify.py      `monitor verify`: the live store, or a bundle offline
"""
