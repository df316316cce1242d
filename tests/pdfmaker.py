"""PDF documents shaped like published policies, generated for tests and benchmarks (fpdf2).

    policy_pdf(version="3.1", pages=4) → bytes

A title page with the document's name in a large font, a "Version X" line and an "Effective
date" line; then numbered sections: headings in a larger bold font, body paragraphs wrapped at
fixed widths with some words hyphenated across line ends, a running header (the document's name)
and a running footer ("Page N of M") on every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import EncryptionMethod

_FIXED_DATE = datetime(2026, 3, 1, tzinfo=UTC)

TITLE = "Responsible Scaling Policy"
PARAGRAPH = (
    "In section {n} we evaluate frontier models for dangerous capabilities before deployment and at regular "
    "intervals during training. When a model crosses a capability threshold we apply the "
    "corresponding safeguards, and we do not deploy or continue training until those "
    "safeguards are in place. Evaluations are reviewed by the responsible scaling officer."
)
_LINE_CHARS = 78


def _wrap(text: str, width: int = _LINE_CHARS) -> list[str]:
    """Fixed-width lines; a word that would overflow is split with a hyphen when both parts
    have at least four letters (as typesetters hyphenate)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if len(candidate) <= width:
            line = candidate
            continue
        room = width - len(line) - 2  # a space and the hyphen
        if room >= 4 and len(word) - room >= 4 and word[:room].isalpha():
            lines.append(f"{line} {word[:room]}-")
            line = word[room:]
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


class _Policy(FPDF):
    running_header = TITLE

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, self.running_header, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def policy_pdf(
    *,
    version: str = "3.0",
    effective: str = "March 31, 2026",
    pages: int = 3,
    sections_per_page: int = 2,
    changed: dict[int, str] | None = None,
    outline: bool = False,
    encrypt_password: str | None = None,
    aes: bool = False,
) -> bytes:
    """A policy document: a title page then `pages` pages of sections. `changed` maps a section
    number to the paragraph it carries instead of the usual one."""
    pdf = _Policy(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(False)
    if encrypt_password is not None:
        method = EncryptionMethod.AES_128 if aes else EncryptionMethod.RC4
        pdf.set_encryption(
            owner_password="owner", user_password=encrypt_password, encryption_method=method
        )
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 24)
    pdf.ln(40)
    pdf.cell(0, 14, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, f"Version {version}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Effective date: {effective}", new_x="LMARGIN", new_y="NEXT")
    section = 0
    for _page in range(pages):
        pdf.add_page()
        for _ in range(sections_per_page):
            section += 1
            heading = f"{section}. Capability threshold {section}"
            if outline:
                pdf.start_section(heading)
            pdf.set_font("Helvetica", "B", 15)
            pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            text = (changed or {}).get(section, PARAGRAPH.format(n=section))
            for paragraph in (text, f"Section {section} applies to every model we train."):
                for line in _wrap(paragraph):
                    pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(3)
    return bytes(pdf.output())


def text_pdf(lines_per_page: Sequence[Sequence[str]], bookmarks: Sequence[str] = ()) -> bytes:
    """A plain document: each page's lines in one 11 pt font; lines named in `bookmarks` are
    entered in the document's outline (headings the font does not show)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_auto_page_break(False)
    for lines in lines_per_page:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 11)
        for line in lines:
            if line in bookmarks:
                pdf.start_section(line)
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_only_pdf(pages: int = 2) -> bytes:
    """A scanned document: pages with drawings and no text layer."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 150, 200, style="F")
    return bytes(pdf.output())
