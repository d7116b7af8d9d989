"""Round set-up and life cycle (lead bidder administrators)."""

from tests.access_policy import Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
SECTION = lambda w: {"round_id": w.round_a, "section_id": w.section_a}  # noqa: E731
EXTENSION = lambda w: {"round_id": w.round_a, "contribution_id": w.contribution_a1}  # noqa: E731

ROUTES = [
    Route("rounds.index", "GET", "round.view"),
    Route("rounds.new", "GET POST", "round.create"),
    Route("rounds.show", "GET", "round.view", RA),
    Route("rounds.edit", "GET POST", "round.change_setup", RA),
    Route("rounds.budget_rules", "GET POST", "round.change_setup", RA),
    Route("rounds.add_section", "GET POST", "round.change_setup", RA),
    Route("rounds.edit_section", "GET POST", "round.change_setup", SECTION),
    Route("rounds.move_section", "POST", "round.change_setup", SECTION),
    Route("rounds.delete_section", "GET POST", "round.change_setup", SECTION),
    Route("rounds.import_form", "GET POST", "round.import_sections", RA),
    Route("rounds.import_form_save", "POST", "round.import_sections", RA),
    Route("rounds.import_stored_form", "POST", "round.import_sections", RA),
    Route("rounds.participants", "GET POST", "round.change_participants", RA),
    Route("rounds.open_round", "GET POST", "round.open", RA),
    Route("rounds.extension", "GET POST", "round.grant_extension", EXTENSION),
    Route("rounds.close", "GET POST", "round.close", RA),
    Route("rounds.reopen_contributions", "GET POST", "round.reopen_contributions", RA),
    Route("rounds.outcome", "GET POST", "round.record_outcome", RA),
    Route("rounds.archive", "POST", "round.archive", RA),
    Route("rounds.restore", "POST", "round.restore", RA),
]
