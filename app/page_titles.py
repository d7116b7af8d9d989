"""What a page's title adds to say whose page it is (WCAG 2.2 2.4.2, titled pages).

Many pages have the same heading for different records: "Budget" is the budget of each CSP's
contribution, "Readiness and sign-off" of each round's collective bid. Someone with several tabs
open, or a screen reader user moving between windows, tells them apart by the title, so the title
names the record: the CSP of a contribution, the collective bid, or the round. base.html adds it
after the page's own title (and before "(page 2 of 5)" on a page of a list)."""

from __future__ import annotations

from flask import request
from jinja2 import pass_context

from app.models import Contribution, Round

SEPARATOR = " – "


def _round_of(ctx) -> Round | None:
    for name in ("rnd", "round"):
        value = ctx.get(name)
        if isinstance(value, Round):
            return value
    return None


def title_context_for(title: str, endpoint: str | None, contribution, rnd) -> str:
    """The words after the page's own title: " – Reading CSP", " – collective bid – EIYF 2018"."""
    parts: list[str] = []
    lowered = title.lower()
    if isinstance(contribution, Contribution):
        name = contribution.csp.name
        if name.lower() not in lowered:
            parts.append(name)
    elif endpoint and endpoint.startswith("bid.") and "collective bid" not in lowered:
        parts.append("collective bid")
    if rnd is not None and not isinstance(contribution, Contribution) and rnd.title.lower() not in lowered:
        parts.append(rnd.title)
    return "".join(SEPARATOR + part for part in parts)


@pass_context
def title_context(ctx) -> str:
    title = str(ctx.get("title") or "")
    return title_context_for(title, request.endpoint, ctx.get("contribution"), _round_of(ctx))
