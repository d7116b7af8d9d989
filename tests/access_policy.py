"""The access table: every route of the app, per method, and the rulebook action that governs it.

tests/test_access_policy.py reads this table with the URL map and the rulebook (app/policy/):
it fails when the URL map has an (endpoint, method) that is not here, or this table has one the
app no longer has; then it requests every entry in every life-cycle state of STATES, as
anonymous users and as every user of the world (every `Role` at lead bidder A, the other CSP of
A, every `Role` at lead bidder B), and expects what `app.policy.decide(user, action, record)`
says for the record the URL names, in that state.

An entry says *which* rule governs a route, never *who* may use it: that is the rulebook's. Each
area has its module in tests/policies/ with its entries (ROUTES) and, where its URLs name things
the world lacks (a budget line, a document, an export), a function `objects(w)` that makes them
(in an app context; they are made once, before the state is set) and returns their ids, which
the entries' `values` then read from `w` like the world's own ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

# Pseudo-actions for routes that no rule governs.
PUBLIC = "public"  # anyone, signed in or not (the home page, signing in, a secret calendar link)
SIGNED_IN = "signed-in"  # anyone signed in, whatever their role (their home page)


def _no_values(w) -> dict:
    return {}


@dataclass(frozen=True)
class Route:
    endpoint: str
    methods: str  # "GET", "POST" or "GET POST": one entry per method once expanded
    # The rulebook action (app/policy/rules.py) deciding who may use it, on the record its URL
    # names (see record_named_by in the test), or PUBLIC / SIGNED_IN.
    action: str
    # url_for() values, read from the world and the objects of tests/policies/*.objects.
    values: Callable = _no_values
    # To check one endpoint and method on two kinds of record (an export of the bid, of a contribution).
    variant: str = ""
    # A download: users who may have it get 200 and this content type (the file, not a redirect) ...
    download: str | None = None
    # ... and, when given, exactly these bytes (lambda w: the stored file's bytes).
    file: Callable | None = None
    # Why this GET may write (the test checks that no other GET changes a thing).
    writes_on_get: str = ""
    # A variant nobody may use in any state (a manager deactivating themselves): the access test
    # checks everyone is refused; tests/test_fuzz.py has no one to send hostile input as.
    refused_to_everyone: bool = False
    # Request headers (lambda w: {...}) for a route whose secret travels in a header, as
    # /metrics' bearer token does (calendar.feed's secret is in its address: `values`).
    headers: Callable | None = None

    @property
    def method(self) -> str:
        assert " " not in self.methods, "expand() first"
        return self.methods

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.method)

    @property
    def name(self) -> str:
        return f"{self.endpoint} {self.method}" + (f" ({self.variant})" if self.variant else "")


def expand(routes: list[Route]) -> list[Route]:
    return [replace(r, methods=m) for r in routes for m in r.methods.split()]


# --- the life-cycle states every route is tried in ---------------------------------------------------
# Each puts round A (and CSP A1's contribution) in a state directly in the database, in an app context,
# after the objects are made. `w` is the world with the objects' ids.

def _round_a(w):
    from app.extensions import db
    from app.models import Round

    return db.session.get(Round, w.round_a)


def _a1(w):
    from app.extensions import db
    from app.models import Contribution

    return db.session.get(Contribution, w.contribution_a1)


def draft(w) -> None:
    """Being set up: CSPs do not see it yet."""
    from app.models import RoundStatus

    rnd = _round_a(w)
    rnd.status, rnd.opened_at = RoundStatus.DRAFT, None


def open_round(w) -> None:
    """Open for contributions, CSP A1's in progress (as the world has it)."""


def contribution_submitted(w) -> None:
    """Open, CSP A1's contribution submitted and waiting for review."""
    from app.models import ContributionStatus
    from app.models.base import utcnow

    a1 = _a1(w)
    a1.status, a1.submitted_at = ContributionStatus.SUBMITTED, utcnow()


def signed_off(w) -> None:
    """The bid signed off by the administrator, CSP A1's contribution accepted."""
    from app.models import ContributionStatus, RoundStatus
    from app.models.base import utcnow
    from app.services.consolidation import get_or_create_bid

    now = utcnow()
    a1 = _a1(w)
    a1.status, a1.submitted_at = ContributionStatus.ACCEPTED, now - timedelta(days=2)
    rnd = _round_a(w)
    rnd.status = RoundStatus.SIGNED_OFF
    bid = get_or_create_bid(rnd)
    bid.signed_off_by_id, bid.signed_off_at = w.users["lead_admin"], now - timedelta(days=1)
    bid.sign_off_declaration = "I confirm the bid is complete"


def submitted_to_funder(w) -> None:
    """Signed off, then sent to the funder."""
    from app.models import RoundStatus
    from app.models.base import utcnow
    from app.services.consolidation import get_or_create_bid

    signed_off(w)
    rnd = _round_a(w)
    rnd.status = RoundStatus.SUBMITTED
    bid = get_or_create_bid(rnd)
    bid.submitted_by_id, bid.submitted_at = w.users["lead_admin"], utcnow()
    bid.funder_reference = "HO-EIYF-0042"


def closed(w) -> None:
    """Contributions closed: CSP A1's submitted, the lead finishing the bid."""
    from app.models import RoundStatus
    from app.models.base import utcnow

    contribution_submitted(w)
    rnd = _round_a(w)
    rnd.status, rnd.closed_at = RoundStatus.CLOSED, utcnow()


def contribution_excluded(w) -> None:
    """Open, CSP A1's contribution submitted and then excluded from the bid."""
    from app.models import ContributionStatus
    from app.models.base import utcnow

    contribution_submitted(w)
    a1 = _a1(w)
    a1.status, a1.decided_at = ContributionStatus.EXCLUDED, utcnow()
    a1.decided_by_id, a1.excluded_reason = w.users["lead_admin"], "Outside the fund's area"


def outcome(w) -> None:
    """Submitted to the funder, and the funder's decision recorded."""
    from app.models import BidOutcome, RoundStatus
    from app.models.base import utcnow

    submitted_to_funder(w)
    rnd = _round_a(w)
    rnd.status, rnd.outcome, rnd.awarded_pence = RoundStatus.OUTCOME, BidOutcome.AWARDED, 25_000_000
    rnd.outcome_on, rnd.outcome_recorded_by_id = utcnow(), w.users["lead_admin"]


def archived(w) -> None:
    """The outcome recorded, then the round archived."""
    from app.models import RoundStatus
    from app.models.base import utcnow

    outcome(w)
    rnd = _round_a(w)
    rnd.status, rnd.archived_at = RoundStatus.ARCHIVED, utcnow()


STATES: dict[str, Callable] = {
    "draft": draft,
    "open": open_round,
    "contribution_submitted": contribution_submitted,
    "signed_off": signed_off,
    "submitted_to_funder": submitted_to_funder,
}

# States the access test leaves out to keep its run short (see NOT_TRIED), which the fuzz test
# (tests/test_fuzz.py) uses for the routes none of STATES reaches.
MORE_STATES: dict[str, Callable] = {
    "closed": closed,
    "contribution_excluded": contribution_excluded,
    "outcome": outcome,
    "archived": archived,
}

# Round states no entry is tried in, and why. A new state of RoundStatus must go in one or the other.
NOT_TRIED = {
    "closed": "between open and signed off, to keep the run short; closing and reopening contributions: "
    "tests/test_lifecycle.py (test_close_and_reopen_contributions)",
    "outcome": "locked like submitted to the funder, to keep the run short; recording the outcome and archiving: "
    "tests/test_lifecycle.py (test_outcome_recorded_then_archived_and_csps_are_told)",
    "archived": "locked like outcome, to keep the run short; tests/test_lifecycle.py as for outcome",
}

# Rules no entry is governed by, because the route's entry names a broader rule (the record these
# need is not one a URL names), and where they are checked instead.
CHECKED_INSIDE = {
    # A merged section is not a record any URL names (the URLs name the round and the section
    # template), so bid.save_section / bid.section_state are tried as bid.edit's; these finer
    # rules are required by app/services/merge.py, and no test tries them through the routes yet.
    "bid.edit_text": "bid.save_section is bid.edit's here; merge.save_text requires it",
    "bid.mark_section_final": "bid.section_state is bid.edit's here; merge.set_section_state requires it",
    "bid.mark_section_draft": "bid.section_state is bid.edit's here; merge.set_section_state requires it",
    # A contribution is not a record the bulk routes' URLs name (they name the round, and the
    # contributions are ticked in the form), so review.remind_selected is round.remind_contributions's;
    # each contribution's rule is required by reminders.remind_now: tests/test_bulk.py.
    "contribution.remind": "review.remind_selected is round.remind_contributions's here; "
    "reminders.remind_now requires it of each contribution",
    # Which review buttons the page shows (not a route of its own): tests/test_review.py.
    "contribution.review": "the review page's actions, shown to editors only: tests/test_review.py",
}


from tests.policies import assignments as assignments_policy  # noqa: E402
from tests.policies import bid_consolidation, bid_merge, contributions, core, documents, review, rounds, sections  # noqa: E402
from tests.policies import budget as budget_policy  # noqa: E402
from tests.policies import calendar as calendar_policy  # noqa: E402
from tests.policies import deadlines as deadlines_policy  # noqa: E402
from tests.policies import exports as exports_policy  # noqa: E402
from tests.policies import funder_form as funder_form_policy  # noqa: E402
from tests.policies import reminders as reminders_policy  # noqa: E402
from tests.policies import search as search_policy  # noqa: E402
from tests.policies import team as team_policy  # noqa: E402
from tests.policies import whats_new as whats_new_policy  # noqa: E402

AREAS = [
    core,
    rounds,
    contributions,
    sections,
    budget_policy,
    documents,
    review,
    bid_merge,
    bid_consolidation,
    exports_policy,
    funder_form_policy,
    deadlines_policy,
    reminders_policy,
    calendar_policy,
    assignments_policy,
    team_policy,
    search_policy,
    whats_new_policy,
]

POLICY: list[Route] = expand([route for area in AREAS for route in area.ROUTES])

# Makers of the objects the world lacks, in order (each area's `objects(w)`).
OBJECTS: list[Callable] = [area.objects for area in AREAS if hasattr(area, "objects")]
