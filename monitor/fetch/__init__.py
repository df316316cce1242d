"""The fetch stage: the only package that requests watched pages.

`Fetcher.fetch(url)` always returns a `FetchResult`: the page, a 304, or a typed `FetchProblem`.
It never raises into the pipeline. One `httpx.AsyncClient` serves every request, behind a global
limit, a per-host limit and an optional spacing between requests to one host. Redirects are
followed one hop at a time so each hop passes its host's limit. Bodies are read as a stream and
dropped as soon as they pass `max_body`. Transient faults (timeouts, connection errors, 429, 5xx)
are retried with exponential backoff and full jitter, honouring `Retry-After`.

`detect_problem` looks at the bytes of a page that arrived and tells a bot wall, a captcha, an
"enable JavaScript" shell, an error page served with 200 or an empty body from a real page.

- settings.py  FetchSettings, from the watchlist's defaults
- client.py    Fetcher: the httpx client, redirect hops, capped bodies, the retry loop
- limits.py    the per-host gate: requests in flight to one host, and their spacing
- retry.py     which problems are retried, backoff, Retry-After
- attempt.py   what one attempt gave, and the FetchResult it becomes
- failures.py  failed requests → FetchProblem (bad URL, status, timeout, DNS, refused…)
- problems.py  detect_problem: bot walls, error pages served with 200, empty bodies
"""

from __future__ import annotations

from monitor.fetch.client import Fetcher
from monitor.fetch.problems import BROWSER_HINT, detect_problem
from monitor.fetch.retry import retry_after as _retry_after  # noqa: F401  (tests/test_fetch.py)
from monitor.fetch.settings import FetchSettings

__all__ = ["BROWSER_HINT", "FetchSettings", "Fetcher", "detect_problem"]
