"""Every page of the app, for every role that may see it, checked at 320 CSS pixels wide.

The pages come from the URL map through the access table (tests/access_policy.py): each GET
route, with the ids of its entry's values (the world's, and the objects tests/policies/* make),
loaded by every user of lead bidder A whom the rulebook lets see it (and by someone signed out for
the public ones), plus a page that does not exist. The world is put in the access test's life-cycle
states in turn (WALK_STATES); in each, a person loads only the pages no earlier state showed them.
Each page is loaded once per role, in one browser page per role and state, at a viewport 320 CSS
pixels wide (WCAG 2.2 1.4.10, reflow), and:

- axe-core finds no WCAG 2.2 A or AA violation;
- the page does not scroll sideways (what is wider, a table, scrolls in its own container);
- no JavaScript error, no failed stylesheet, script or image;
- its title is not the title of another page the same person can see, and names the CSP on a
  contribution's pages and the collective bid on the bid's (2.4.2).

Then the main pages with the browser's text size at 200% (1.4.4): nothing scrolls sideways or is
cut off.

The problems of every page are gathered, so one run lists them all.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import axe_playwright_python
import pytest
from flask import url_for

from app import drafts
from app.extensions import db
from app.models import User
from tests.access_policy import OBJECTS, POLICY, PUBLIC, STATES
from tests.browser.conftest import AXE_OPTIONS, SCREENSHOT_EVERY_PAGE, CheckedPage, Screenshots, expect
from tests.conftest import _snapshot, sign_in_directly
from tests.test_access_policy import _decide, record_named_by

ANONYMOUS = "anonymous"
# Lead bidder A's users: one of each role.
ROLES = ["lead_admin", "lead_staff", "viewer", "csp_manager", "csp_contributor"]
NARROW = {"width": 320, "height": 720}
WIDE = {"width": 1280, "height": 800}
# Not pages: the health check answers text, the calendar feed an iCalendar file, an export's status JSON.
NOT_PAGES = {"main.healthz", "ops.readyz", "ops.metrics", "calendar.feed", "exports.status"}
NOT_FOUND = "/this-page-does-not-exist"
CSP_A1 = "Reading Community Safety Partnership"

# Measured in the page: the document's sideways overflow, and any element that cuts off content
# sideways (overflow hidden or clip, wider content) other than visually hidden text.
_MEASURE = """() => {
  const root = document.documentElement;
  const clipped = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (!["hidden", "clip"].includes(style.overflowX) || el.matches("input, textarea, select")) continue;
    if (el.closest(".govuk-visually-hidden, [hidden]") || style.position === "absolute") continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 1) {
      clipped.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  // What sticks out past the right edge, to say which element makes the page scroll.
  const wide = [];
  if (root.scrollWidth > root.clientWidth) {
    for (const el of document.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.right > root.clientWidth + 1 && box.width > 0 && !el.closest(".govuk-visually-hidden")) {
        const parent = el.parentElement.getBoundingClientRect();
        if (parent.right <= root.clientWidth + 1) {
          wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`);
        }
      }
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, clipped, wide: wide.slice(0, 3)};
}"""


@dataclasses.dataclass
class Visit:
    endpoint: str
    url: str
    values: dict = dataclasses.field(default_factory=dict)


def _pages(app, w) -> dict[str, list[Visit]]:
    """Each person's pages: every GET route the rulebook lets them see, with its URL."""
    pages: dict[str, list[Visit]] = defaultdict(list)
    with app.app_context():
        users = {role: db.session.get(User, w.users[role]) for role in ROLES}
        for route in POLICY:
            if route.method != "GET" or route.download or route.endpoint in NOT_PAGES:
                continue
            values = route.values(w)
            with app.test_request_context():
                url = url_for(route.endpoint, **values)
            record = record_named_by(values)
            if route.action == PUBLIC:
                pages[ANONYMOUS].append(Visit(route.endpoint, url, values))
            for role, user in users.items():
                if _decide(route, user, record).allowed:
                    pages[role].append(Visit(route.endpoint, url, values))
    for who in (ANONYMOUS, *ROLES):
        pages[who].append(Visit("404", NOT_FOUND))
    return pages


def _world_in(app, world, state: str) -> SimpleNamespace:
    """The world with the access table's objects (an export, a document, a lead-held line ...), in
    one of the access test's life-cycle states."""
    w = SimpleNamespace(**dataclasses.asdict(world))
    with app.app_context():
        for make in OBJECTS:
            made = make(w)
            made.pop("files", None)
            vars(w).update(made)
        db.session.commit()
        STATES[state](w)
        db.session.commit()
    return w


@pytest.fixture
def walk_world(app, world):
    """Round A open and CSP A1's contribution submitted, so that the review pages have something to review."""
    return _world_in(app, world, "contribution_submitted")


# Each person's pages in the first state, then those that only a later state shows them (forms for
# changing a contribution, while it is open; marking the bid submitted, once signed off ...).
WALK_STATES = ["open", "contribution_submitted", "signed_off", "submitted_to_funder", "draft"]


def _signed_in_context(app, browser, live_server, w, who: str, viewport: dict):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=viewport)
    context.set_default_timeout(10_000)
    if who != ANONYMOUS:
        client = app.test_client()
        sign_in_directly(client, w.emails[who])
        names = (app.config["SESSION_COOKIE_NAME"], drafts.OWNER_COOKIE)
        context.add_cookies([
            {"name": name, "value": cookie.value, "url": live_server.url}
            for name in names if (cookie := client.get_cookie(name)) is not None
        ])
    return context


def _visit(page: CheckedPage, url: str) -> tuple[int | None, list[str]]:
    """Load a page; its status and the problems seen while loading it."""
    page.problems.clear()
    response = page.page.goto(url)
    page.page.wait_for_load_state("load")
    problems = [p for p in page.problems if not (p.startswith("404 for GET") and NOT_FOUND in p)]
    return (response.status if response else None), problems


# axe-core is put in every document as it starts (once per browser page, not sent again for each
# check), and only its violations are sent back.
_AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
_RUN_AXE = "options => axe.run(document, options).then(results => results.violations)"


def _axe_report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {node['target']}: {node['html'][:160]}" for node in v["nodes"][:5]]
    return "\n".join(lines)


WHO = [ANONYMOUS, *ROLES]


@pytest.mark.parametrize("who", WHO)
def test_every_page_at_320_pixels(app, browser, live_server, world, request, who):
    """Every page this person may see: axe-core, no sideways scrolling at 320px, distinct titles."""
    problems: list[str] = []
    checked = 0
    seen: set[str] = set()
    titles: dict[str, set[str]] = defaultdict(set)
    screenshots = Screenshots(request.node.name)
    for n, state in enumerate(WALK_STATES):
        w = _world_in(app, world if n == 0 else _snapshot["world"].restore(app), state)
        visits = [v for v in _pages(app, w)[who] if v.url not in seen]  # (the ids are the same in each)
        seen.update(v.url for v in visits)
        if not visits:
            continue
        context = _signed_in_context(app, browser, live_server, w, who, NARROW)
        context.add_init_script(_AXE_SOURCE)
        try:
            page = CheckedPage(context.new_page(), screenshots, live_server)
            for visit in visits:
                checked += _check(page, visit, who, f"[{state}] {visit.endpoint} {visit.url}", problems, titles)
        finally:
            context.close()
    for title, endpoints in titles.items():
        if len(endpoints) > 1:
            problems.append(f"pages {sorted(endpoints)} share the title {title!r}")
    print(f"\n{who}: {checked} pages checked with axe-core and at 320px")
    assert not problems, f"{who}: {len(problems)} problems:\n" + "\n".join(problems)
    assert checked == len(seen)


def _check(page: CheckedPage, visit: Visit, who: str, where: str, problems: list[str], titles: dict) -> int:
    """Load one page and check it; 1 if it was checked."""
    status, seen = _visit(page, visit.url)
    problems += [f"{where}: {p}" for p in seen]
    expected = 404 if visit.endpoint == "404" else None
    if status is None or status >= 500 or (expected and status != expected):
        problems.append(f"{where}: answered {status}")
        return 0
    final = page.page.url
    if "/sign-in" in final and who != ANONYMOUS:
        problems.append(f"{where}: sent to sign in")
        return 0
    if violations := page.page.evaluate(_RUN_AXE, AXE_OPTIONS):
        problems.append(f"{where}: axe-core:\n{_axe_report(violations)}")
    measured = page.page.evaluate(_MEASURE)
    if SCREENSHOT_EVERY_PAGE:
        page.page.screenshot(path=page.screenshots.next_path(), full_page=True)
    if measured["scrollWidth"] > measured["clientWidth"]:
        problems.append(
            f"{where}: scrolls sideways at 320px ({measured['scrollWidth']}px wide; sticking out: {measured['wide']})"
        )
    if measured["clipped"]:
        problems.append(f"{where}: content cut off at 320px: {measured['clipped']}")
    if urlsplit(final).path == urlsplit(visit.url).path:  # not sent elsewhere
        title = page.page.title()
        titles[title].add(visit.endpoint)
        # Whose page it is: the CSP of a contribution's pages, the collective bid's.
        if "contribution_id" in visit.values and CSP_A1 not in title:
            problems.append(f"{where}: the title {title!r} does not name the CSP")
        if visit.endpoint.startswith("bid.") and "collective bid" not in title.lower():
            problems.append(f"{where}: the title {title!r} does not say it is the collective bid")
    return 1


def test_the_walk_sees_every_page(app, world):
    """Every GET route of the URL map that answers a page is loaded by someone in some state,
    except those whose state the access test does not try either (tests/access_policy.NOT_TRIED)."""
    unseen = {r.endpoint for r in POLICY if r.method == "GET" and not r.download and r.endpoint not in NOT_PAGES}
    for n, state in enumerate(WALK_STATES):
        w = _world_in(app, world if n == 0 else _snapshot["world"].restore(app), state)
        unseen -= {v.endpoint for visits in _pages(app, w).values() for v in visits}
    assert unseen == NOT_WALKED


# Pages no walked state shows: reopening contributions needs a closed round, which the access
# table does not try either (tests/access_policy.NOT_TRIED).
NOT_WALKED = {"rounds.reopen_contributions"}


# The pages people use most, each with the browser's text size at 200% (32px instead of 16px).
MAIN_PAGES = [
    ("lead_staff", "review.overview"),
    ("lead_staff", "rounds.show"),
    ("lead_staff", "bid.overview"),
    ("lead_staff", "bid.consolidation_budget"),
    ("lead_staff", "deadlines.index"),
    ("lead_staff", "exports.bid_exports"),
    ("lead_admin", "admin.users"),
    ("lead_admin", "admin.activity"),
    ("csp_manager", "main.home"),
    ("csp_manager", "contributions.task_list"),
    ("csp_manager", "contributions.check_answers"),
    ("csp_manager", "contributions.budget"),
    ("csp_manager", "contributions.outcomes"),
]


def test_main_pages_with_text_at_200_percent(app, browser, live_server, walk_world):
    w = walk_world
    pages = _pages(app, w)
    problems = []
    for who in dict.fromkeys(who for who, _ in MAIN_PAGES):
        context = _signed_in_context(app, browser, live_server, w, who, WIDE)
        try:
            page = context.new_page()
            # The browser's own text size setting, as someone who needs bigger text sets it.
            context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
            for endpoint in [e for person, e in MAIN_PAGES if person == who]:
                url = next(v.url for v in pages[who] if v.endpoint == endpoint)
                page.goto(url)
                assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 32
                measured = page.evaluate(_MEASURE)
                if measured["scrollWidth"] > measured["clientWidth"]:
                    problems.append(f"{who} {url}: scrolls sideways ({measured['wide']})")
                if measured["clipped"]:
                    problems.append(f"{who} {url}: content cut off: {measured['clipped']}")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


_SCROLL_CONTAINERS = """() => [...document.querySelectorAll(".pb-table-scroll")].map((el) => ({
  scrolls: el.scrollWidth > el.clientWidth,
  tabindex: el.getAttribute("tabindex"),
  role: el.getAttribute("role"),
  label: el.getAttribute("aria-label"),
  caption: el.querySelector("caption") ? el.querySelector("caption").textContent.replace(/\\s+/g, " ").trim() : null,
}))"""


def test_a_wide_table_is_a_keyboard_stop_only_while_it_scrolls(app, browser, live_server, walk_world):
    """The review overview's table at 320px scrolls in its container, which keyboard users can then
    reach and scroll, named by the table's caption, its focus shown in yellow and black; on a wide
    screen, where it fits, it is no stop at all. Checked again when the window changes."""
    w = walk_world
    context = _signed_in_context(app, browser, live_server, w, "lead_staff", NARROW)
    try:
        page = context.new_page()
        page.goto(f"/review/rounds/{w.round_a}")
        [table] = page.evaluate(_SCROLL_CONTAINERS)
        assert table["scrolls"]
        assert (table["tabindex"], table["role"]) == ("0", "region")
        assert table["label"] == table["caption"] and table["label"]

        region = page.get_by_role("region", name=table["caption"])
        # Reached with Tab from the filters' button before it (then Select all and Select none).
        page.locator("main").get_by_role("button", name="Apply filters").focus()
        for _ in range(20):
            page.keyboard.press("Tab")
            if region.evaluate("el => el === document.activeElement"):
                break
        expect(region).to_be_focused()
        style = region.evaluate(
            "el => ({outline: getComputedStyle(el).outlineColor, width: getComputedStyle(el).outlineWidth,"
            " shadow: getComputedStyle(el).boxShadow})"
        )
        # GOV.UK Frontend's focus: a yellow outline and a black ring inside it (19:1 on white).
        assert style["outline"] == "rgb(255, 221, 0)" and style["width"] == "3px"
        assert "rgb(11, 12, 12)" in style["shadow"] and "inset" in style["shadow"]
        page.keyboard.press("ArrowRight")  # scrolls it (smoothly: wait for it to move)
        # Locator assertions (the page's Content-Security-Policy forbids wait_for_function's eval).
        container = page.locator(".pb-table-scroll").first
        expect(container).not_to_have_js_property("scrollLeft", 0)

        page.set_viewport_size(WIDE)
        expect(container).not_to_have_attribute("tabindex", re.compile(".*"))
        [table] = page.evaluate(_SCROLL_CONTAINERS)
        assert not table["scrolls"] and (table["tabindex"], table["role"], table["label"]) == (None, None, None)

        page.set_viewport_size(NARROW)
        expect(container).to_have_attribute("tabindex", "0")
    finally:
        context.close()
