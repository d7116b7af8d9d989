"""Search: one page for everyone signed in; each result is scoped by its own record's rule
(tests/test_search.py). Walked with a word of round A's title, so the page shows results."""

from tests.access_policy import Route

ROUTES = [
    Route("search.index", "GET", "search.use", lambda w: {"q": "youth fund"}),
]
