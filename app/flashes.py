"""Flashed summaries of bulk actions: a GOV.UK notification banner with a heading and a list of
records, each with what happened to it (base.html draws a message that is a dict this way)."""

from __future__ import annotations

from flask import flash


def flash_list(heading: str, items: list[str], category: str = "info") -> None:
    flash({"heading": heading, "items": items}, category)


def flash_saved(message: str, form, field: str = "text", category: str = "success") -> None:
    """A message after saving, saying under it what tidying changed in the text the person sent
    ("We tidied your text: 12 bullet points made into a list, ..."), if anything (app.text.tidy)."""
    tidied = form.tidied_message(field)
    flash({"heading": message, "text": tidied} if tidied else message, category)


def flash_outcomes(result, done: str, not_done: str) -> None:
    """One success banner listing what was done (headed `done`), one listing what was not and why
    (headed `not_done`); either is left out when it lists nothing. In the headings, {n} is the
    number listed and {s} an "s" when it is not 1."""
    for outcomes, heading, category in ((result.done, done, "success"), (result.not_done, not_done, "info")):
        if outcomes:
            n = len(outcomes)
            flash_list(heading.format(n=n, s="" if n == 1 else "s"), [f"{o.name}: {o.detail}" for o in outcomes],
                       category)
