"""The PDF export of the collective bid or of one contribution: the print template
(templates/exports/print/bid.html) rendered by Flask and laid out by WeasyPrint.

- A4, with the title and the status in the running header of every page and "Page N of M" in
  the footer (@page margin boxes and counters); the contents list has page numbers
  (target-counter).
- Every section heading, and Budget, Outcomes, Partners and Supporting documents, is an <h1>, so
  WeasyPrint makes each one a PDF bookmark; table subheadings are <h2> (second-level bookmarks).
- Tables repeat their header row on each page and never break inside a row.
- Tagged, PDF/UA-1 (pdf_variant="pdf/ua-1"): /StructTreeRoot, /MarkInfo Marked, /Lang en-GB,
  DisplayDocTitle and XMP metadata with the title, for assistive technology.
- Nothing is fetched: the stylesheet is inline, the fonts are the machine's own (Liberation Sans,
  falling back to DejaVu Sans) and are embedded in the file, and the URL fetcher refuses every URL.
- Renders with the application's Jinja environment (its filters: money, govuk_date ...), not
  flask.render_template: the app's context processors need a request, and exports are also made
  from the command line with only an application context. Never touches the database.
"""

from __future__ import annotations

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from app.services.exports.content import ExportContent, document_note
from app.services.exports.word import empty_text, roles_lines, running_header, size_text, status_line
from app.text import blocks

SIGNED_OFF_COLOUR = "#00703c"
DRAFT_COLOUR = "#d4351c"
CONTRIBUTION_COLOUR = "#1d70b8"


class _NoFetching(URLFetcher):
    """An export never loads anything from anywhere: no network, no files."""

    def fetch(self, url, headers=None):
        raise ValueError(f"Exports do not load URLs ({url[:80]})")


def css_string(text: str) -> str:
    """A quoted CSS string that is safe inside a <style> element: every character that is not a
    letter, a digit or a space is written as a CSS escape."""
    # The space after each escape ends it and is not part of the string.
    return '"' + "".join(ch if ch.isalnum() and ch.isascii() or ch == " " else f"\\{ord(ch):06x} " for ch in text) + '"'


def contents_anchors(content: ExportContent) -> list[tuple[str, str]]:
    items = [(f"section-{s.number}", f"{s.number}. {s.title}") for s in content.sections]
    return items + [("budget", "Budget"), ("outcomes", "Outcomes"), ("partners", "Partners"),
                    ("documents", "Supporting documents")]


def html_for(content: ExportContent) -> str:
    """The print page (for the PDF, and for looking at in a browser while working on it)."""
    by_year = content.by_year()
    title, _, mark = running_header(content).rpartition(" \u2014 ")
    subject = f"{content.fund_name}: {'collective bid' if content.kind == 'bid' else 'contribution'}"
    return current_app.jinja_env.get_template("exports/print/bid.html").render(
        content=content,
        subject=subject,
        status_line=status_line(content),
        status_colour=(SIGNED_OFF_COLOUR if content.signed_off
                       else CONTRIBUTION_COLOUR if content.kind == "contribution" else DRAFT_COLOUR),
        css_title=css_string(title),
        css_status=css_string(mark),
        css_version=css_string(f"Version {content.short_hash}"),
        empty_text=empty_text(content),
        contents=contents_anchors(content),
        sections=[(s, blocks(s.text)) for s in content.sections],
        by_year=by_year,
        match_by_year=content.match_by_year(),
        by_category=content.by_category(),
        cells=content.year_category_totals(),
        csp_budgets=content.csp_budgets() if content.kind == "bid" else [],
        by_type=content.match_by_type(),
        partners=[(p, roles_lines(p.roles, several=len(p.csps) > 1)) for p in content.partners],
        documents=[(d, size_text(d.size_bytes)) for d in content.documents],
        document_note=document_note,
    )


def render_pdf(content: ExportContent) -> bytes:
    document = HTML(string=html_for(content), base_url=None, url_fetcher=_NoFetching()).render()
    document.metadata.lang = "en-GB"
    # PDF/UA-1: a tagged PDF (structure tree, MarkInfo), the title shown in the window's title bar
    # (DisplayDocTitle) and XMP metadata, so screen readers read headings, lists and tables as such.
    return document.write_pdf(pdf_variant="pdf/ua-1")
