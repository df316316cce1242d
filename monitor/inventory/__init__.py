"""The models a team uses, and what the registry says of them.

- identity.py  which registry model an id names, and by which rule (pure)
- scan.py      model ids in source and config files, file by file
- exposure.py  registry × inventory: touched models, team reports, reminders (pure)
- write.py     `inventory scan --write`: append what a scan found to the watchlist
"""
