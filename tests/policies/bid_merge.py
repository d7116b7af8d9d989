"""The collective bid: merging sections."""

from tests.access_policy import LEAD_ANY, Route

LEAD_EDIT = frozenset({"lead_admin", "lead_staff"})


def _round(w) -> dict:
    return {"round_id": w.round_a}


def _section(w) -> dict:
    return {"round_id": w.round_a, "section_id": w.section_a}


def _source(w) -> dict:
    return {**_section(w), "contribution_id": w.contribution_a1}


ROUTES = [
    Route("bid.overview", LEAD_ANY, _round, tenant_scoped=True),
    Route("bid.move_contribution", LEAD_EDIT, lambda w: {**_round(w), "contribution_id": w.contribution_a1},
          method="POST", tenant_scoped=True),
    Route("bid.section", LEAD_ANY, _section, tenant_scoped=True),
    Route("bid.save_section", LEAD_EDIT, _section, method="POST", tenant_scoped=True),
    Route("bid.build_draft", LEAD_EDIT, _section, method="POST", tenant_scoped=True),
    Route("bid.remerge", LEAD_EDIT, _source, method="POST", tenant_scoped=True),
    Route("bid.mark_reviewed", LEAD_EDIT, _source, method="POST", tenant_scoped=True),
    Route("bid.add_contribution", LEAD_EDIT, _source, method="POST", tenant_scoped=True),
    Route("bid.section_history", LEAD_ANY, _section, tenant_scoped=True),
    Route("bid.section_state", LEAD_EDIT, _section, method="POST", tenant_scoped=True),
]
