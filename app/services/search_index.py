"""Keeping the search index (app/models/search.py) up to date, in the transaction that changes the
records it copies.

A session event after every flush looks at what the flush wrote and rewrites the rows of the
records concerned, with one DELETE and one INSERT ... SELECT per kind of record (the words are read
back from the tables, so the index holds what the database holds, however the change was made):

- rounds, contributions, comments and documents: when one is added, changed (in the columns that are
  searched) or deleted;
- a CSP's section text and a merged section of the collective bid: their saves are conditional
  UPDATEs (optimistic locking), which the session does not see, so a new SectionRevision or
  MergedRevision (every save that changes the text makes one) stands for the save; a text set
  on the object itself (the demo, tests' factories) counts too;
- a CSP renamed: its contributions' rows; a section of the template renamed: its texts' and
  comments' rows;
- a round, contribution or section deleted: every row that belongs to it.

`rebuild()` (flask search rebuild) writes every row again from the tables.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, event, func, inspect, literal, null, or_, select
from sqlalchemy.orm import Session, object_session

from app.models import (
    Attachment,
    CollectiveBid,
    Contribution,
    InternalNote,
    MergedRevision,
    MergedSection,
    Organisation,
    ReviewComment,
    Round,
    SearchEntry,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
)
from app.models.base import utcnow

ENTRY = SearchEntry.__table__
COLUMNS = ["lead_bidder_id", "round_id", "csp_id", "contribution_id", "section_id", "kind", "record_id", "title",
           "body", "lead_only", "updated_at"]

# The characters ts_headline() and FTS5's snippet() put around a matched word (Unicode private use:
# never in the text, which is stored without them).
MARK_START, MARK_END = "\ue000", "\ue001"


def _clean(expression):
    """The text as stored in the index: without the characters that mark matches in snippets."""
    return func.replace(func.replace(func.coalesce(expression, ""), MARK_START, ""), MARK_END, "")


def _rows(kind: str):
    """SELECT of the index rows of one kind (COLUMNS, in order), from the records' own tables; and
    the column holding the record's id (to narrow it to some records)."""
    now = bindparam("now", type_=SearchEntry.updated_at.type)
    r, c, o = Round.__table__, Contribution.__table__, Organisation.__table__
    s = SectionTemplate.__table__
    if kind == "round":
        rows = select(
            r.c.lead_bidder_id, r.c.id, null(), null(), null(), literal(kind), r.c.id, _clean(r.c.title),
            _clean(r.c.fund_name + " " + r.c.funder + " " + r.c.summary), literal(False), now,
        )
        return rows, r.c.id
    if kind == "contribution":
        rows = select(
            c.c.lead_bidder_id, c.c.round_id, c.c.csp_id, c.c.id, null(), literal(kind), c.c.id, _clean(o.c.name),
            _clean(func.coalesce(c.c.extension_reason, "") + " " + func.coalesce(c.c.excluded_reason, "")),
            literal(False), now,
        ).select_from(c.join(o, o.c.id == c.c.csp_id))
        return rows, c.c.id
    if kind == "section":
        sr = SectionResponse.__table__
        rows = (
            select(
                c.c.lead_bidder_id, c.c.round_id, c.c.csp_id, c.c.id, sr.c.section_id, literal(kind), sr.c.id,
                _clean(s.c.title), _clean(sr.c.text), literal(False), now,
            )
            .select_from(sr.join(c, c.c.id == sr.c.contribution_id).join(s, s.c.id == sr.c.section_id))
            .where(sr.c.text != "")
        )
        return rows, sr.c.id
    if kind == "merged":
        ms, b = MergedSection.__table__, CollectiveBid.__table__
        rows = (
            select(
                b.c.lead_bidder_id, b.c.round_id, null(), null(), ms.c.section_id, literal(kind), ms.c.id,
                _clean(s.c.title), _clean(ms.c.text), literal(True), now,
            )
            .select_from(ms.join(b, b.c.id == ms.c.bid_id).join(s, s.c.id == ms.c.section_id))
            .where(ms.c.text != "")
        )
        return rows, ms.c.id
    if kind == "comment":
        rc = ReviewComment.__table__
        rows = select(
            c.c.lead_bidder_id, c.c.round_id, c.c.csp_id, c.c.id, rc.c.section_id, literal(kind), rc.c.id,
            _clean(s.c.title), _clean(rc.c.body), literal(False), now,
        ).select_from(rc.join(c, c.c.id == rc.c.contribution_id).outerjoin(s, s.c.id == rc.c.section_id))
        return rows, rc.c.id
    if kind == "note":  # the lead bidder's internal notes: lead_only, never a CSP's result
        n = InternalNote.__table__
        rows = select(
            c.c.lead_bidder_id, c.c.round_id, c.c.csp_id, c.c.id, n.c.section_id, literal(kind), n.c.id,
            _clean(s.c.title), _clean(n.c.body), literal(True), now,
        ).select_from(n.join(c, c.c.id == n.c.contribution_id).outerjoin(s, s.c.id == n.c.section_id))
        return rows, n.c.id
    if kind == "document":
        a = Attachment.__table__
        rows = select(
            c.c.lead_bidder_id, c.c.round_id, c.c.csp_id, c.c.id, null(), literal(kind), a.c.id,
            _clean(a.c.filename), _clean(a.c.description), literal(False), now,
        ).select_from(a.join(c, c.c.id == a.c.contribution_id))
        return rows, a.c.id
    raise ValueError(f"not a kind of search entry: {kind}")


KIND_OF = {
    Round: "round",
    Contribution: "contribution",
    SectionResponse: "section",
    MergedSection: "merged",
    ReviewComment: "comment",
    InternalNote: "note",
    Attachment: "document",
}
# The columns whose change changes a record's row (its words, or where it belongs).
WATCHED = {
    Round: ("title", "fund_name", "funder", "summary"),
    Contribution: ("csp_id", "extension_reason", "excluded_reason"),
    SectionResponse: ("text",),
    MergedSection: ("text",),
    ReviewComment: ("body", "section_id"),
    InternalNote: ("body", "section_id"),
    Attachment: ("filename", "description"),
}


def _changed(obj, names) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def write(connection, ids: dict[str, set[int]]) -> None:
    """Write the rows of these records again (or remove them, if the record has no words now)."""
    now = utcnow()
    for kind, record_ids in ids.items():
        if not record_ids:
            continue
        wanted = sorted(record_ids)
        connection.execute(delete(ENTRY).where(ENTRY.c.kind == kind, ENTRY.c.record_id.in_(wanted)))
        rows, key = _rows(kind)
        connection.execute(
            ENTRY.insert().from_select(COLUMNS, rows.where(key.in_(wanted))), {"now": now}
        )


def rebuild(connection) -> int:
    """Every row again, from the tables. Returns how many rows the index has."""
    now = utcnow()
    connection.execute(delete(ENTRY))
    for kind in KIND_OF.values():
        rows, _ = _rows(kind)
        connection.execute(ENTRY.insert().from_select(COLUMNS, rows), {"now": now})
    return connection.scalar(select(func.count()).select_from(ENTRY))


_DELETED = "search_index_deleted"


def _deleted(mapper, connection, target) -> None:
    """Each record the flush deletes, orphans of a collection included (which session.deleted,
    read before the flush, does not list)."""
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_DELETED, []).append(target)


for _model in (*KIND_OF, SectionTemplate):
    event.listen(_model, "after_delete", _deleted)


@event.listens_for(Session, "after_rollback")
def _forget_deleted(session: Session) -> None:
    session.info.pop(_DELETED, None)  # a flush that failed: those rows were not deleted after all


@event.listens_for(Session, "after_flush")
def _index_changes(session: Session, flush_context) -> None:
    ids: dict[str, set[int]] = {kind: set() for kind in KIND_OF.values()}
    gone: dict[str, set[int]] = {kind: set() for kind in KIND_OF.values()}
    owners = {"round_id": set(), "contribution_id": set(), "section_id": set()}
    renamed_csps: set[int] = set()
    renamed_sections: set[int] = set()

    for obj in session.new:
        kind = KIND_OF.get(type(obj))
        if kind:
            ids[kind].add(obj.id)
        elif isinstance(obj, SectionRevision):
            ids["section"].add(obj.response_id)
        elif isinstance(obj, MergedRevision):
            ids["merged"].add(obj.merged_section_id)
    for obj in session.dirty:
        kind = KIND_OF.get(type(obj))
        if kind and _changed(obj, WATCHED[type(obj)]):
            ids[kind].add(obj.id)
        elif isinstance(obj, Organisation) and _changed(obj, ("name",)):
            renamed_csps.add(obj.id)
        elif isinstance(obj, SectionTemplate) and _changed(obj, ("title",)):
            renamed_sections.add(obj.id)
    for obj in session.info.pop(_DELETED, []):
        kind = KIND_OF.get(type(obj))
        if kind:
            gone[kind].add(obj.id)
        if isinstance(obj, Round):
            owners["round_id"].add(obj.id)
        elif isinstance(obj, Contribution):
            owners["contribution_id"].add(obj.id)
        elif isinstance(obj, SectionTemplate):
            owners["section_id"].add(obj.id)

    if not (any(ids.values()) or any(gone.values()) or any(owners.values()) or renamed_csps or renamed_sections):
        return
    connection = session.connection()
    conditions = [and_(ENTRY.c.kind == kind, ENTRY.c.record_id.in_(sorted(v))) for kind, v in gone.items() if v]
    conditions += [ENTRY.c[column].in_(sorted(v)) for column, v in owners.items() if v]
    if conditions:
        connection.execute(delete(ENTRY).where(or_(*conditions)))
    if renamed_csps:
        c = Contribution.__table__
        ids["contribution"].update(connection.scalars(select(c.c.id).where(c.c.csp_id.in_(sorted(renamed_csps)))))
    if renamed_sections:
        found = connection.execute(
            select(ENTRY.c.kind, ENTRY.c.record_id).where(
                ENTRY.c.section_id.in_(sorted(renamed_sections)),
                ENTRY.c.kind.in_(("section", "merged", "comment", "note")),
            )
        )
        for kind, record_id in found:
            ids[kind].add(record_id)
    for kind, v in gone.items():
        ids[kind] -= v
    write(connection, ids)

