"""The main journeys with the keyboard alone: Tab to move, Enter and Space to follow a link or press
a button, typing into fields. On every page of each journey, tabbing through the whole page
reaches every link, button and field there is, and each shows where the focus is (WCAG 2.2
2.1.1 keyboard, 2.4.3 focus order, 2.4.7 focus visible).

- a CSP manager signs in, changes a section and submits the contribution;
- lead staff read it, open a comment form, and accept it;
- lead staff build the first draft of a merged section and save it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.models import Contribution, User
from app.services.contributions import submit
from tests.browser.conftest import CheckedPage, expect
from tests.factories import PASSWORD
from tests.test_merge import READING, accept_both
from tests.test_submit import complete_everything
from tests.two_factor_codes import next_code

pytestmark = pytest.mark.browser

CSP = "Reading Community Safety Partnership"
MAX_TABS = 400

# The focused element: its name, and whether its focus is shown (GOV.UK Frontend's yellow
# outline, background or box shadow; a radio's or checkbox's on its label's ring).
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const shows = (s) => (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
                        && s.outlineColor !== "rgba(0, 0, 0, 0)")
                       || (s.boxShadow && s.boxShadow !== "none")
                       || s.backgroundColor === "rgb(255, 221, 0)";
  let shown = shows(getComputedStyle(el));
  if (!shown && el.matches(".govuk-checkboxes__input, .govuk-radios__input") && el.labels.length) {
    shown = shows(getComputedStyle(el.labels[0], "::before")) || shows(getComputedStyle(el.labels[0], "::after"));
  }
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  const name = (el.getAttribute("aria-label") || label || el.innerText || el.value || "").replace(/\\s+/g, " ").trim();
  if (!el.dataset.keyboardIndex) {
    el.dataset.keyboardIndex = String(document.querySelectorAll("[data-keyboard-index]").length + 1);
  }
  return {name, shown, index: el.dataset.keyboardIndex, tag: el.tagName.toLowerCase()};
}"""

# Every element of the page a keyboard user should be able to reach that Tab has not reached.
_NOT_REACHED = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex="0"]')]
  .filter((el) => !el.disabled && el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
  .filter((el) => !el.closest("details:not([open]) > :not(summary)"))
  .filter((el) => !el.dataset.keyboardIndex)
  .filter((el) => !(el.matches(".govuk-radios__input, .govuk-checkboxes__input") && el.type === "radio"
                    && document.querySelector(`input[name="${el.name}"][data-keyboard-index]`)))
  .map((el) => `${el.tagName.toLowerCase()} ${(el.innerText || el.name || el.id || "").trim().slice(0, 60)}`)"""


# Forget the stops seen, and start again from the top of the page.
_FROM_THE_TOP = """() => {
  document.querySelectorAll("[data-keyboard-index]").forEach((el) => delete el.dataset.keyboardIndex);
  const root = document.documentElement;
  root.setAttribute("tabindex", "-1");
  root.focus();
  root.removeAttribute("tabindex");
}"""


def _focused(page: CheckedPage) -> dict | None:
    return page.page.evaluate(_FOCUSED)


def tab_through_the_page(page: CheckedPage) -> None:
    """Tab from the top of the page to its end: each stop shows its focus, and nothing is left out."""
    page.page.evaluate(_FROM_THE_TOP)
    seen = set()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused is None:
            if seen:
                break  # past the last stop, back to the document
            continue
        if focused["index"] in seen:
            break
        seen.add(focused["index"])
        assert focused["shown"], f"{page.url}: the focus on {focused['tag']} {focused['name']!r} is not shown"
    else:
        pytest.fail(f"{page.url}: more than {MAX_TABS} tab stops")
    missed = page.page.evaluate(_NOT_REACHED)
    assert not missed, f"{page.url}: not reachable with Tab: {missed}"


def tab_to(page: CheckedPage, name: str | re.Pattern) -> dict:
    """Press Tab until the focus is on the element with this name (exactly, or matching)."""
    names = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused is None:
            continue
        names.append(focused["name"])
        assert focused["shown"], f"{page.url}: the focus on {focused['tag']} {focused['name']!r} is not shown"
        if (focused["name"] == name) if isinstance(name, str) else name.search(focused["name"]):
            return focused
    pytest.fail(f"{page.url}: Tab never reached {name!r}; it reached {list(dict.fromkeys(names))}")


def press(page: CheckedPage, key: str) -> None:
    """Enter or Space on the focused link or button, which leads to another page."""
    with page.next_page():
        page.keyboard.press(key)


def sign_in_with_keyboard(page: CheckedPage, email: str) -> None:
    page.goto("/sign-in")
    tab_through_the_page(page)
    tab_to(page, "Email address")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "Sign in")
    press(page, "Enter")
    if urlsplit(page.url).path == "/sign-in/two-factor":  # lead bidder staff give a code too
        tab_to(page, "Security code")
        page.keyboard.type(next_code(email))
        tab_to(page, "Continue")
        press(page, "Enter")


def test_a_csp_manager_changes_a_section_and_submits_with_the_keyboard(app, world, page):
    complete_everything(app, world.contribution_a1)
    sign_in_with_keyboard(page, world.emails["csp_manager"])
    tab_through_the_page(page)
    tab_to(page, re.compile(r"^Continue your contribution"))
    press(page, "Enter")

    expect(page.get_by_role("heading", level=1)).to_contain_text(CSP)
    tab_through_the_page(page)
    section = tab_to(page, re.compile(r"^2\. "))
    press(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(section["name"])
    tab_through_the_page(page)
    tab_to(page, "Your text")
    page.keyboard.press("Control+End")
    page.keyboard.type(" Knife crime among under-18s rose by a fifth in 2017/18.")
    tab_to(page, "Mark as completed")
    press(page, "Space")

    expect(page.locator(".govuk-notification-banner")).to_be_visible()
    tab_through_the_page(page)
    tab_to(page, "Check your answers")
    press(page, "Enter")
    expect(page.get_by_role("main")).to_contain_text("rose by a fifth in 2017/18")
    tab_through_the_page(page)
    tab_to(page, "Accept and submit")
    press(page, "Space")
    expect(page.get_by_role("heading", name="Contribution submitted")).to_be_visible()
    tab_through_the_page(page)


def test_lead_staff_review_and_accept_with_the_keyboard(app, world, page):
    complete_everything(app, world.contribution_a1)
    with app.test_request_context():
        submit(db.session.get(User, world.users["csp_manager"]), db.session.get(Contribution, world.contribution_a1))
        db.session.commit()
    sign_in_with_keyboard(page, world.emails["lead_staff"])
    page.goto(f"/rounds/{world.round_a}")
    tab_through_the_page(page)
    tab_to(page, "Review contributions")
    press(page, "Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Review contributions")
    tab_through_the_page(page)
    tab_to(page, CSP)
    press(page, "Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"{CSP}’s contribution")
    tab_through_the_page(page)
    # A comment form, opened with Space: its field is then reachable too.
    tab_to(page, re.compile(r"^Comment on section"))
    page.keyboard.press("Space")
    tab_to(page, re.compile(r"^Comment on section \d+"))
    page.keyboard.type("Which year are these figures from?")
    tab_to(page, re.compile(r"^Add comment"))
    press(page, "Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your comment has been added")

    tab_through_the_page(page)
    tab_to(page, "Accept contribution")
    press(page, "Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("has been accepted")
    tab_through_the_page(page)


def test_lead_staff_merge_a_section_with_the_keyboard(app, world, page):
    accept_both(app, world)
    sign_in_with_keyboard(page, world.emails["lead_staff"])
    page.goto(f"/bid/rounds/{world.round_a}")
    tab_through_the_page(page)
    tab_to(page, "2. Local need and evidence")
    press(page, "Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("2. Local need and evidence")
    tab_through_the_page(page)
    tab_to(page, "Build the first draft")
    press(page, "Space")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("first draft")

    tab_through_the_page(page)
    tab_to(page, "Merged text")
    page.keyboard.press("Control+Home")
    page.keyboard.type("Across Thames Valley, knife crime among young people is rising.\n\n")
    tab_to(page, "Save merged text")
    press(page, "Enter")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You saved the merged text")
    value = page.get_by_label("Merged text", exact=True).input_value()
    assert value.startswith("Across Thames Valley") and READING in value
    tab_through_the_page(page)
