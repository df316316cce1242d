"""Benchmark of PDF extraction: a generated 100-page policy read into the version's text.

    python bench/pdf_bench.py [--pages 100] [--runs 5] [--compare]

The document is shaped like a published policy (tests/pdfmaker.py): a title page with version
and effective date, three numbered sections per page with headings in a larger font, running
header and footer, hyphenated line ends. Each run reads it in a fresh process and prints the
wall time of extract_document and the process's peak RSS; the target is under 1 s and under
150 MB. --compare also times pdfminer.six's layout analysis of the same file, when installed,
as measured for the choice of pypdf.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE_RUN = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
body = open(sys.argv[1], "rb").read()
from monitor import extract
import pypdf, monitor.extract.pdftext  # imports are not the extraction
started = time.perf_counter()
document = extract.extract_document(body, charset=None, base_url="https://example.com/p.pdf",
                                    content_type="application/pdf")
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "chars": len(document.text),
                  "seen": document.seen}))
"""

PDFMINER_RUN = r"""
import io, json, resource, sys, time
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTTextContainer, LTTextLine
body = open(sys.argv[1], "rb").read()
started = time.perf_counter()
lines = 0
for page in extract_pages(io.BytesIO(body), laparams=LAParams()):
    for element in page:
        if isinstance(element, LTTextContainer):
            for line in element:
                if isinstance(line, LTTextLine):
                    sizes = [c.size for c in line if isinstance(c, LTChar)]
                    lines += 1
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "lines": lines}))
"""


def _runs(script: str, path: Path, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", script, str(path), str(ROOT)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out.append(json.loads(done.stdout))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.pdfmaker import policy_pdf

    body = policy_pdf(version="3.1", pages=args.pages, sections_per_page=3)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.pdf"
        path.write_bytes(body)
        print(f"document: {args.pages + 1} pages, {len(body) / 1000:.0f} KB")
        results = _runs(ONE_RUN, path, args.runs)
        times = [r["seconds"] for r in results]
        peaks = [r["peak_mb"] for r in results]
        print(f"pypdf + pdftext: {results[0]['seen']}; {results[0]['chars']:.0f} characters")
        print(
            f"  extract time: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s, max {max(times):.3f} s over {args.runs} runs (target < 1 s)"
        )
        print(f"  peak RSS: max {max(peaks):.0f} MB (target < 150 MB)")
        if args.compare:
            try:
                other = _runs(PDFMINER_RUN, path, args.runs)
            except subprocess.CalledProcessError as exc:
                print(f"pdfminer.six: not run ({exc.stderr.strip().splitlines()[-1]})")
                return
            times = [r["seconds"] for r in other]
            print(
                f"pdfminer.six layout analysis alone: median {statistics.median(times):.3f} s, "
                f"peak RSS max {max(r['peak_mb'] for r in other):.0f} MB"
            )


if __name__ == "__main__":
    main()
