"""Reminders (issue 6): being written. The interface other parts rely on:"""

from __future__ import annotations

from app.models import Round, User


def deadline_moved(actor: User | None, rnd: Round) -> int:
    """Called (in the same transaction) after any deadline of the round changed: cancels the
    reminders already written to the outbox but not yet sent that are about a deadline that no
    longer applies. Returns how many were cancelled. New reminders follow the new dates by
    themselves (their keys name the deadline they are about)."""
    return 0
