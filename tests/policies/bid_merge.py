"""The collective bid: merging sections. Its pages are round.view's; every change is bid.edit's
(a merged section's own draft/final state is not one of the states tried)."""

from tests.access_policy import Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
SECTION = lambda w: {"round_id": w.round_a, "section_id": w.section_a}  # noqa: E731
SOURCE = lambda w: {**SECTION(w), "contribution_id": w.contribution_a1}  # noqa: E731

ROUTES = [
    Route("bid.overview", "GET", "round.view", RA),
    Route("bid.move_contribution", "POST", "bid.edit", lambda w: {**RA(w), "contribution_id": w.contribution_a1}),
    Route("bid.section", "GET", "round.view", SECTION),
    Route("bid.save_section", "POST", "bid.edit", SECTION),
    Route("bid.build_draft", "POST", "bid.edit", SECTION),
    Route("bid.build_all_drafts", "POST", "bid.edit", RA),
    Route("bid.replace_drafts", "POST", "bid.edit", RA),
    Route("bid.remerge", "POST", "bid.edit", SOURCE),
    Route("bid.mark_reviewed", "POST", "bid.edit", SOURCE),
    Route("bid.add_contribution", "POST", "bid.edit", SOURCE),
    Route("bid.section_history", "GET", "round.view", SECTION),
    Route("bid.section_state", "POST", "bid.edit", SECTION),
]
