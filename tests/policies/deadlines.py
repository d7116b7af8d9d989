"""The deadlines of a round: every lead bidder user sees them; administrators change them."""

from tests.access_policy import Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def _kind(kind: str):
    return lambda w: {"round_id": w.round_a, "kind": kind}


ROUTES = [
    Route("deadlines.index", "GET", "round.view", RA),
    Route("deadlines.change", "GET POST", "round.change_deadlines", _kind("funder"), variant="funder"),
    Route("deadlines.change", "GET", "round.change_deadlines", _kind("internal"), variant="internal"),
    Route("deadlines.change", "GET", "round.change_deadlines", _kind("sign_off"), variant="sign_off"),
]
