"""Reviewing contributions (lead bidder): overview, review page, comments, decisions, timeline."""

from tests.access_policy import Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731
RA = lambda w: {"round_id": w.round_a}  # noqa: E731

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
]
