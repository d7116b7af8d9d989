"""A contribution as a whole: task list, check answers, submit."""

from tests.access_policy import Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731

ROUTES = [
    Route("contributions.task_list", "GET", "contribution.view", A1),
    Route("contributions.check_answers", "GET", "contribution.view", A1),
    Route("contributions.submit", "POST", "contribution.submit", A1),
    Route("contributions.submitted", "GET", "contribution.view", A1),
]
