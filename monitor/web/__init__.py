"""The review web UI and its JSON API: `monitor serve`. Starlette, Jinja2 templates, uvicorn.

- app.py      the application: routes, security headers, sessions
- auth.py     who is asking: a reviewer token (Bearer or signed session), CSRF tokens
- pages.py    the HTML pages (the only module that imports jinja2)
- api.py      the JSON API, in the shapes of the CLI's --json
- feed.py     the Atom feed of changes
- data.py     what each page and API route reads, and the checks of query parameters
- views.py    what pages and API share: coverage, timeline rows, the ignore_text suggestion
- server.py   running it under uvicorn

It reads and writes only through monitor.store; page text is always escaped and captured HTML
is never rendered as a live document.
"""
