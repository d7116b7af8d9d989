"""One source for the counts of contributions by where they stand, so the home page, the round
list and page, the review overview, the reminder digests and the exports can never disagree.

"Submitted" means with the lead bidder: submitted, resubmitted or accepted (a contribution sent
back for changes is with its CSP again, so it is not counted as submitted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contribution, ContributionStatus


@dataclass(frozen=True)
class Counts:
    by_status: dict

    def _n(self, statuses) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def submitted(self) -> int:
        return self._n(s for s in ContributionStatus if s.with_lead)

    @property
    def awaiting_review(self) -> int:
        return self._n(s for s in ContributionStatus if s.awaiting_review)

    @property
    def accepted(self) -> int:
        return self._n([ContributionStatus.ACCEPTED])

    @property
    def changes_requested(self) -> int:
        return self._n([ContributionStatus.CHANGES_REQUESTED])

    @property
    def excluded(self) -> int:
        return self._n([ContributionStatus.EXCLUDED])

    @property
    def not_submitted(self) -> int:
        """With the CSP: not started, in progress, or sent back for changes."""
        return self._n(s for s in ContributionStatus if s.csp_can_edit)

    @property
    def sentence(self) -> str:
        return f"{self.submitted} of {self.total} CSPs have submitted"


def count(contributions: Iterable[Contribution]) -> Counts:
    return Counts(dict(Counter(c.status for c in contributions)))


def counts_by_round(round_ids: Iterable[int]) -> dict[int, Counts]:
    """Every round's counts in one grouped query (for lists of rounds)."""
    ids = list(round_ids)
    result: dict[int, dict] = {rid: {} for rid in ids}
    if ids:
        rows = db.session.execute(
            select(Contribution.round_id, Contribution.status, func.count())
            .where(Contribution.round_id.in_(ids))
            .group_by(Contribution.round_id, Contribution.status)
        )
        for round_id, status, n in rows:
            result[round_id][ContributionStatus(status)] = n
    return {rid: Counts(by) for rid, by in result.items()}
