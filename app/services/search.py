"""Search: what a person finds with the search box, scoped as the rulebook scopes the records.

The index (app/models/search.py, kept up to date by app/services/search_index.py) has a row per
round, contribution, CSP section text, merged section of the collective bid, comment and document.
A row is listed only when the rulebook lets the person see its record (VIEW_RULES), worked out in
the query itself from the same facts the rulebook reads:

- everyone: only rows of their own lead bidder (tenant);
- lead bidder users (round.view, contribution.view): every row of their lead bidder;
- CSP users (contribution.view on their own contribution): rows of their own CSP's contribution,
  and the rows of a round as a whole (csp_id NULL) when their CSP takes part in it; never a
  `lead_only` row (the collective bid, which they cannot see); and nothing of a round that is not
  open to CSPs yet (lifecycle.VISIBLE_TO_CSPS).

PostgreSQL: websearch_to_tsquery on the GIN index, ts_headline for the snippets. SQLite: FTS5
MATCH, snippet(). Either way the words typed are first read by one small parser (parse()), so the
same query means the same thing on both and no input is a syntax error: words, "a phrase", OR
between words, -word to leave out. A page of results costs two statements: the count and the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, column, func, literal_column, null, or_, select, table

from app.extensions import db
from app.models import Contribution, Organisation, Round, SearchEntry, User
from app.policy import lifecycle, require
from app.services.pages import Page, PageNotFound, page_size, requested_number
from app.services.search_index import MARK_END, MARK_START

MAX_QUERY_LENGTH = 200  # characters: more is refused with a message, never sent to the database
MAX_TERMS = 16  # words and phrases: the rest are ignored
# PostgreSQL's snippets (ts_headline) take time in proportion to the text they read, and a merged
# section of a 100-CSP bid runs to tens of thousands of characters: a snippet is made from this many
# characters around the first place the first word typed appears (or the start of the text).
SNIPPET_WINDOW, SNIPPET_BEFORE = 3000, 1000

KIND_LABELS = {
    "round": "Funding round",
    "contribution": "Contribution",
    "section": "Contribution section",
    "merged": "Collective bid section",
    "comment": "Comment",
    "note": "Internal note",
    "document": "Document",
}
# The rule that lets someone see the record a row is about (what tests/test_search.py asserts
# every result against). For a CSP user a round's row stands for their own contribution to it.
VIEW_RULES = {
    "round": "round.view",
    "contribution": "contribution.view",
    "section": "contribution.view",
    "merged": "round.view",
    "comment": "contribution.view",
    "note": "contribution.view_internal_notes",
    "document": "contribution.view",
}
CSP_VIEW_RULES = {**VIEW_RULES, "round": "contribution.view"}


# --- the words typed ---------------------------------------------------------------------------------

@dataclass
class Query:
    """AND of `groups` (each an OR of phrases), without any of `excluded`. A phrase is one or more
    words, matched next to each other."""

    groups: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def websearch(self) -> str:
        """For PostgreSQL's websearch_to_tsquery (which reads every string without error)."""
        parts = [" or ".join(f'"{p}"' for p in group) for group in self.groups]
        parts += [f'-"{p}"' for p in self.excluded]
        return " ".join(parts)

    def fts5(self) -> str:
        """For SQLite's FTS5 MATCH: every phrase a quoted string, so no word is read as syntax."""
        def quoted(phrase: str) -> str:
            return '"' + phrase.replace('"', '""') + '"'

        groups = [quoted(g[0]) if len(g) == 1 else "(" + " OR ".join(map(quoted, g)) + ")" for g in self.groups]
        text = "(" + " AND ".join(groups) + ")"
        for phrase in self.excluded:
            text += " NOT " + quoted(phrase)
        return text


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORDS = re.compile(r"[^\W_]+")  # letters and digits, as both databases split words


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text))


def parse(text: str) -> Query:
    """Read a search as people type one into a search engine: words (all must match), "a phrase",
    `or` between two words or phrases (either), -word or -"a phrase" (must not match). Punctuation
    and operators of the databases' own query languages are just punctuation here."""
    query = Query()
    join_next = False
    for match in _TOKEN.finditer(text or ""):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None:
            if word.lower() == "or" and query.groups:
                join_next = True
                continue
            negated, phrase = ("-", word[1:]) if word.startswith("-") and len(word) > 1 else ("", word)
        words = _words(phrase)
        if not words:
            continue
        if negated:
            query.excluded.append(words)
        elif join_next:
            query.groups[-1].append(words)
        else:
            query.groups.append([words])
        join_next = False
        if len(query.groups) + len(query.excluded) >= MAX_TERMS:
            break
    return query


# --- snippets ---------------------------------------------------------------------------------------

def highlight(snippet: str | None) -> Markup:
    """The snippet as HTML: every character escaped, the matched words (between the database's
    markers) in <mark>. Markers that do not pair up are dropped, so the tags always balance."""
    out: list[Markup] = []
    open_ = False
    for part in re.split(f"([{MARK_START}{MARK_END}])", (snippet or "").strip()):
        if part == MARK_START:
            if not open_:
                out.append(Markup("<mark>"))
                open_ = True
        elif part == MARK_END:
            if open_:
                out.append(Markup("</mark>"))
                open_ = False
        else:
            out.append(escape(part))
    if open_:
        out.append(Markup("</mark>"))
    return Markup("").join(out)


# --- the results ------------------------------------------------------------------------------------

@dataclass
class Result:
    kind: str
    record_id: int
    title: str
    url: str
    round_title: str
    csp_name: str | None
    snippet: Markup
    updated_at: datetime | None
    # What the rulebook is asked about (tests): the rule and the record's (model, id).
    rule: str
    record: tuple[type, int]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _title(kind: str, title: str, csp_name: str | None) -> str:
    if kind == "contribution":
        return f"Contribution from {title}"
    if kind == "comment":
        return f"Comment on {title}" if title else "Comment on the contribution"
    if kind == "note":
        return f"Internal note on {title}" if title else "Internal note on the contribution"
    return title


def _url_and_record(user: User, row) -> tuple[str, tuple[type, int]]:
    kind = row.kind
    if kind == "round":
        if user.is_csp:
            return url_for("contributions.task_list", contribution_id=row.own_contribution_id), (
                Contribution, row.own_contribution_id)
        return url_for("rounds.show", round_id=row.round_id), (Round, row.round_id)
    if kind == "merged":
        return url_for("bid.section", round_id=row.round_id, section_id=row.section_id), (Round, row.round_id)
    record = (Contribution, row.contribution_id)
    if kind == "contribution":
        endpoint = "contributions.task_list" if user.is_csp else "review.contribution"
        return url_for(endpoint, contribution_id=row.contribution_id), record
    if kind == "section":
        return url_for("contributions.view_section", contribution_id=row.contribution_id,
                       section_id=row.section_id), record
    if kind == "comment":
        anchor = f"comment-{row.record_id}"
        return url_for("review.comments", contribution_id=row.contribution_id, _anchor=anchor), record
    if kind == "note":
        return url_for("review.internal_notes", contribution_id=row.contribution_id), record
    return url_for("contributions.documents", contribution_id=row.contribution_id), record


def search(actor: User, text: str, page=1) -> Page[Result]:
    """One page of what `actor` may see that matches `text`, best first. Two statements: the count
    and the page (with its rounds' titles, CSPs' names and snippets)."""
    require(actor, "search.use")
    query = parse(text)
    per_page = page_size("cards")
    number = requested_number(page)
    if not query:
        if number != 1:
            raise PageNotFound()
        return Page([], 1, per_page, 0)

    e = SearchEntry.__table__
    r = Round.__table__
    csp = Organisation.__table__.alias("csp")
    own = Contribution.__table__.alias("own")
    postgres = db.session.get_bind().dialect.name == "postgresql"

    if postgres:
        tsquery = func.websearch_to_tsquery(literal_column("'english'"), bindparam("q", query.websearch()))
        document = literal_column("search_entry.document")  # the stored tsvector (app/models/search.py)
        matches = document.op("@@")(tsquery)
        rank = func.ts_rank_cd(document, tsquery).desc()
        source = e
    else:
        fts = literal_column("search_entry_fts")
        matches = fts.op("MATCH")(bindparam("q", query.fts5()))
        rank = func.bm25(fts, 5.0, 1.0).asc()
        index = table("search_entry_fts", column("rowid"))
        source = e.join(index, index.c.rowid == e.c.id)

    if actor.is_csp:
        visible = and_(
            e.c.lead_bidder_id == actor.lead_bidder_id,
            e.c.lead_only.is_(False),
            r.c.status.in_([s.value for s in lifecycle.VISIBLE_TO_CSPS]),
            own.c.id.is_not(None),
            or_(e.c.csp_id == actor.organisation_id, e.c.csp_id.is_(None)),
        )
        # The CSP's own contribution to the row's round: whether they take part in it (and where a
        # round's row leads them).
        scoped = source.join(r, r.c.id == e.c.round_id).outerjoin(
            own, and_(own.c.round_id == e.c.round_id, own.c.csp_id == actor.organisation_id)
        )
        own_contribution = own.c.id
    else:
        visible = e.c.lead_bidder_id == actor.lead_bidder_id
        scoped = source.join(r, r.c.id == e.c.round_id)
        own_contribution = null()

    total = db.session.scalar(select(func.count()).select_from(scoped).where(matches, visible))
    pages = max(1, -(-total // per_page))
    if not 1 <= number <= pages:
        raise PageNotFound()
    if not total:
        return Page([], 1, per_page, 0)

    offset = (number - 1) * per_page
    if postgres:
        ids = (
            select(e.c.id.label("id"), func.row_number().over(order_by=(rank, e.c.updated_at.desc(), e.c.id.desc()))
                   .label("position"), own_contribution.label("own_contribution_id"))
            .select_from(scoped)
            .where(matches, visible)
            .order_by(rank, e.c.updated_at.desc(), e.c.id.desc())
            .limit(per_page)
            .offset(offset)
            .subquery("hits")
        )
        first_word = next((p.split()[0] for g in query.groups for p in g if p.split()), "")
        where_found = func.strpos(func.lower(e.c.body), bindparam("first_word", first_word.lower()))
        window = func.substr(e.c.body, func.greatest(1, where_found - SNIPPET_BEFORE), SNIPPET_WINDOW)
        snippet = func.ts_headline(
            literal_column("'english'"), window, tsquery,
            bindparam("options", f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
                                 "MaxFragments=2, FragmentDelimiter=\" … \""),
        )
        stmt = (
            select(e, ids.c.own_contribution_id, r.c.title.label("round_title"), csp.c.name.label("csp_name"),
                   snippet.label("snippet"))
            .select_from(ids.join(e, e.c.id == ids.c.id).join(r, r.c.id == e.c.round_id)
                         .outerjoin(csp, csp.c.id == e.c.csp_id))
            .order_by(ids.c.position)
        )
    else:
        snippet = func.snippet(literal_column("search_entry_fts"), 1, MARK_START, MARK_END, "…", 24)
        stmt = (
            select(e, own_contribution.label("own_contribution_id"), r.c.title.label("round_title"),
                   csp.c.name.label("csp_name"), snippet.label("snippet"))
            .select_from(scoped.outerjoin(csp, csp.c.id == e.c.csp_id))
            .where(matches, visible)
            .order_by(rank, e.c.updated_at.desc(), e.c.id.desc())
            .limit(per_page)
            .offset(offset)
        )
    rules = CSP_VIEW_RULES if actor.is_csp else VIEW_RULES
    results = []
    for row in db.session.execute(stmt):
        url, record = _url_and_record(actor, row)
        results.append(Result(
            kind=row.kind, record_id=row.record_id, title=_title(row.kind, row.title, row.csp_name), url=url,
            round_title=row.round_title, csp_name=row.csp_name,
            snippet=highlight(row.snippet) if row.body else Markup(""), updated_at=row.updated_at,
            rule=rules[row.kind], record=record,
        ))
    return Page(results, number, per_page, total)
