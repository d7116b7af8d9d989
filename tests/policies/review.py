"""Reviewing contributions (lead bidder): overview, review page, comments, decisions, timeline, internal notes."""

from tests.access_policy import Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731
RA = lambda w: {"round_id": w.round_a}  # noqa: E731
# The note's URL names the note: its rule (only its author, lead_staff, may delete it) is decided on it.
NOTE = lambda w: {"contribution_id": w.contribution_a1, "note_id": w.internal_note}  # noqa: E731


def objects(w) -> dict:
    """An internal note by lead_staff on CSP A1's contribution."""
    from app.extensions import db
    from app.models import InternalNote

    note = InternalNote(contribution_id=w.contribution_a1, section_id=w.section_a, author_id=w.users["lead_staff"],
                        body="Their figures look low: check with the analyst before we accept.")
    db.session.add(note)
    db.session.flush()
    return {"internal_note": note.id}


ROUTES = [
    Route("review.overview", "GET", "round.view", RA),
    # Several contributions at once: each one is then contribution.accept's / contribution.remind's.
    Route("review.accept_selected", "POST", "round.accept_contributions", RA),
    Route("review.remind_selected", "POST", "round.remind_contributions", RA),
    # The review page of one contribution is the lead bidder's (CSP users have the task list).
    Route("review.contribution", "GET", "round.view", A1),
    Route("review.comments", "GET", "contribution.view", A1),
    Route("review.comments", "POST", "contribution.comment", A1),
    Route("review.request_changes", "GET POST", "contribution.request_changes", A1),
    Route("review.accept", "POST", "contribution.accept", A1),
    Route("review.exclude", "GET POST", "contribution.exclude", A1),
    Route("review.include", "POST", "contribution.include", A1),
    Route("review.timeline", "GET", "contribution.view", A1),
    # Internal notes: the lead bidder's own, never the CSP's.
    Route("review.internal_notes", "GET", "contribution.view_internal_notes", A1),
    Route("review.internal_notes", "POST", "contribution.add_internal_note", A1),
    Route("review.delete_internal_note", "GET POST", "internal_note.delete", NOTE),
    # What changed since the lead asked for changes: the lead bidder's (CSPs have their own history).
    Route("review.changes_since_request", "GET", "contribution.see_changes", A1),
]
