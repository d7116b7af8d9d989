"""A contribution as a whole: task list, check answers, submit."""

from tests.access_policy import SIGNED_IN, Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731

ROUTES = [
    Route("contributions.task_list", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.check_answers", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.submit", frozenset({"csp_manager"}), A1, method="POST", tenant_scoped=True, csp_scoped=True),
    Route("contributions.submitted", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
]
