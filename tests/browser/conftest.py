"""Browser test harness: the app served by gunicorn, driven by Debian's Chromium through Playwright.

Fixtures
    live_server  (session)  gunicorn serving wsgi:app on 127.0.0.1:<free port>, on the test database
                            (the `app` fixture's) and the test SMTP server (`smtp_server`).
    browser      (session)  Chromium from /usr/bin/chromium (Playwright cannot download browsers here).
    page                    a CheckedPage in a fresh browser context: one person at one browser.
    new_page                new_page() -> another CheckedPage in its own fresh context (someone else).

Every document a CheckedPage loads is checked before the test carries on (see CheckedPage.check):
axe-core (WCAG 2.2 A and AA rules), no server error, no JavaScript error, no Content Security Policy
report and no broken stylesheet, script or image. With BROWSER_SCREENSHOTS=1 each one is also saved
as a full-page screenshot in test-artifacts/screenshots/<test name>-<n>.png (a quarter of the time
these tests take, so only when asked for; a failing test always leaves its screenshots, below).
Navigate with page.goto(), page.click_button(), page.click_link() or `with page.next_page(): ...`;
a page that loads some other way is still checked when the test ends, and the test fails if a page
was loaded and left without being checked.

When a browser test fails, the gunicorn log lines written during the test are added to the report, and
each browser's page as it was is saved as <test name>-failed-<k>.png. The whole log is test-artifacts/gunicorn.log
(gunicorn-gw0.log ... under pytest-xdist).

Helpers for tests: expect() (Playwright's, which also takes a CheckedPage), sign_in(), sign_out(),
deliver_outbox(), only_email_to(), link_in().
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright
from playwright.sync_api import expect as playwright_expect

from app.services.outbox import DeliveryReport, deliver_due
from tests.factories import PASSWORD
from tests.jobs import run_queued_on
from tests.smtp import Received, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# Each pytest-xdist worker serves the app with its own gunicorn, on its own database.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
SERVER_LOG = ARTIFACTS / (f"gunicorn-{_WORKER}.log" if _WORKER else "gunicorn.log")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
# A full-page screenshot of every page checked, to look at the pages; failures are screenshotted anyway.
SCREENSHOT_EVERY_PAGE = os.environ.get("BROWSER_SCREENSHOTS", "").strip().lower() in {"1", "true", "yes", "on"}
TIMEOUT_MS = 10_000  # Playwright actions; a page of this app loads in well under a second

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}

# Marks the current document as checked; says whether it already was (a new document has no mark).
_MARK_CHECKED = """() => {
  const seen = window.__browserTestChecked === true;
  window.__browserTestChecked = true;
  return seen;
}"""

_server_log_start = pytest.StashKey[int]()
_call_failed = pytest.StashKey[bool]()


# --- collection and reporting ------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this folder drives a browser, whether or not its module says so.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
    if report.failed and _server_log_start in item.stash:
        text = read_server_log(item.stash[_server_log_start]).strip()
        report.sections.append(("gunicorn log during this test", text or "(nothing)"))
    return report


# --- the app under gunicorn --------------------------------------------------------------------


def read_server_log(start: int = 0) -> str:
    try:
        with SERVER_LOG.open("rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def server_log_tail(chars: int = 20_000) -> str:
    text = read_server_log()
    return text if len(text) <= chars else "...\n" + text[-chars:]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    jobs_url: str = ""  # the queue its requests put tasks on (run them with run_jobs())

    def log_size(self) -> int:
        return SERVER_LOG.stat().st_size if SERVER_LOG.exists() else 0

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"gunicorn has exited with code {code}. Its log:\n{server_log_tail()}", pytrace=False)


def _start_gunicorn(database_url: str, mail_port: int, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    jobs_file = ARTIFACTS / f"jobs-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite"
    jobs_file.unlink(missing_ok=True)
    jobs_url = f"sqlite:///{jobs_file}"
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "TEST_DATABASE_URL": database_url,
        "TEST_JOBS_URL": jobs_url,
        "TEST_MAIL_PORT": str(mail_port),
        "BASE_URL": url,
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", "2",
        "--threads", "4",  # gthread workers: a page's stylesheet, script and icon load side by side
        "--graceful-timeout", "3",
        "--no-control-socket",  # not ~/.gunicorn/gunicorn.ctl, which another gunicorn may be using
        "--access-logfile", "-",
        "--error-logfile", "-",
        "--chdir", str(ROOT),
        "wsgi:app",
    ]  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(url, process, jobs_url)

    deadline = time.monotonic() + 30
    while True:
        server.check_alive()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - our http:// URL
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"gunicorn did not answer {url}/healthz within 30s. Its log:\n{server_log_tail()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def live_server(app, smtp_server) -> Iterator[LiveServer]:
    """The app under gunicorn, on the same database and SMTP server as the test process."""
    server = _start_gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port)
    yield server
    _stop(server.process)


@pytest.fixture(autouse=True)
def _server_watch(request, live_server: LiveServer) -> Iterator[None]:
    """Fail clearly if gunicorn has died; remember where this test's log lines start."""
    live_server.check_alive()
    request.node.stash[_server_log_start] = live_server.log_size()
    yield
    live_server.check_alive()


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Screenshots:
    """Numbered full-page screenshots for one test: <test name>-1.png, -2.png, ..."""

    def __init__(self, test_name: str):
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        stale = re.compile(re.escape(self.prefix) + r"-(failed-)?\d+\.png")
        for old in SCREENSHOTS.glob(f"{self.prefix}-*.png"):
            if stale.fullmatch(old.name):
                old.unlink()

    def next_path(self) -> Path:
        self.count += 1
        return SCREENSHOTS / f"{self.prefix}-{self.count}.png"

    def failed_path(self, n: int) -> Path:
        return SCREENSHOTS / f"{self.prefix}-failed-{n}.png"


@dataclass(repr=False)
class CheckedPage:
    """A Playwright Page whose every loaded document is screenshotted and checked with axe-core.

    Anything not defined here is the Playwright Page's own (page.get_by_label(...), expect(page)...
    work as usual); the Page itself is `.page`.
    """

    page: Page
    screenshots: Screenshots
    server: LiveServer
    loaded: list[str] = field(default_factory=list)  # each document that finished loading
    checked: list[str] = field(default_factory=list)  # each document checked, with its screenshot
    problems: list[str] = field(default_factory=list)  # found by the event handlers, since the last check
    _document_status: int | None = None

    def __post_init__(self) -> None:
        self.page.on("load", self._on_load)
        self.page.on("response", self._on_response)
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))

    def __getattr__(self, name: str):
        if name == "page":  # not set yet: do not recurse
            raise AttributeError(name)
        return getattr(self.page, name)

    def __repr__(self) -> str:
        return f"<CheckedPage {self.page.url}>"

    # Navigation: each of these waits for the next page to load, then checks it.

    def goto(self, url: str) -> Response | None:
        """Open a path of the app ("/sign-in") or a full URL, like typing it in the address bar."""
        response = self.page.goto(url)
        self.check()
        return response

    @contextlib.contextmanager
    def next_page(self, timeout: float | None = None) -> Iterator[None]:
        """`with page.next_page(): <click or press something>` waits for the page it leads to."""
        with self.page.expect_navigation(timeout=timeout):
            yield
        self.check()

    def click_button(self, name: str, timeout: float | None = None) -> None:
        """Click a button (or a link styled as one) that leads to another page. `timeout` (ms): for
        a button whose request does slow work (making a file), the most to wait for its page."""
        with self.next_page(timeout):
            self.page.get_by_role("button", name=name, exact=True).click(timeout=timeout)

    def click_link(self, name: str) -> None:
        with self.next_page():
            self.page.get_by_role("link", name=name, exact=True).click()

    # The checks.

    def check(self) -> None:
        """Check the current document, once: axe-core and the problems seen while loading (and a
        screenshot with BROWSER_SCREENSHOTS=1)."""
        self.page.wait_for_load_state("load")
        if self.page.evaluate(_MARK_CHECKED):
            return
        url = self.page.url
        where = url
        if SCREENSHOT_EVERY_PAGE:
            screenshot = self.screenshots.next_path()
            self.page.screenshot(path=screenshot, full_page=True)
            where = f"{url} (screenshot {screenshot.name})"
        self.checked.append(url)

        missed = len(self.loaded) - len(self.checked)
        assert missed <= 0, (
            f"{missed} page(s) loaded without being checked; loaded: {self.loaded}, checked: {self.checked}. "
            "Navigate with page.goto(), page.click_button(), page.click_link() or `with page.next_page():`."
        )
        status, self._document_status = self._document_status, None
        assert status is None or status < 500, f"The server answered {status} for {where}:\n{server_log_tail()}"
        results = Axe().run(self.page, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"axe-core on {where}:\n{results.generate_report()}"
        self._report_problems(where)

    def finish(self) -> None:
        """At the end of a test: check the last page if it was reached some other way."""
        if self.page.is_closed() or self.page.url == "about:blank":
            return
        self.check()
        self._report_problems(self.page.url)

    def _report_problems(self, where: str) -> None:
        problems, self.problems = self.problems, []
        assert not problems, f"Problems on {where}:\n" + "\n".join(problems)

    # Event handlers: they only record, the checks happen in check().

    def _on_load(self, page: Page) -> None:
        self.loaded.append(page.url)

    def _on_response(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request():
            if response.frame == self.page.main_frame:
                self._document_status = response.status
        elif response.status >= 400:
            self.problems.append(f"{response.status} for {request.method} {response.url}")

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # requests cut short by leaving the page are fine
            self.problems.append(f"{request.method} {request.url} failed: {failure}")

    def _on_console(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats a bad status that _on_response has seen (or the page's
        # own 4xx, which is how this app answers a form with errors).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"Console error: {message.text}")


@pytest.fixture
def new_page(request, browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], CheckedPage]]:
    """new_page() -> a CheckedPage in a fresh browser context (no cookies: someone new)."""
    screenshots = Screenshots(request.node.name)
    contexts = []
    pages: list[CheckedPage] = []

    def _new_page() -> CheckedPage:
        context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        checked = CheckedPage(context.new_page(), screenshots, live_server)
        pages.append(checked)
        return checked

    yield _new_page
    try:
        if request.node.stash.get(_call_failed, False):
            # How each browser looked when the test failed, which may be part-way through a page.
            for n, checked in enumerate(pages, start=1):
                if not checked.page.is_closed():
                    checked.page.screenshot(path=screenshots.failed_path(n), full_page=True)
        else:
            for checked in pages:
                checked.finish()
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[[], CheckedPage]) -> CheckedPage:
    return new_page()


# --- helpers for tests -------------------------------------------------------------------------


def expect(actual, message: str | None = None):
    """Playwright's expect(), which also takes a CheckedPage: expect(page).to_have_title(...)."""
    return playwright_expect(actual.page if isinstance(actual, CheckedPage) else actual, message)


def sign_in(page: CheckedPage, email: str, password: str = PASSWORD) -> None:
    """Sign in with the sign-in form, going to it first unless it is showing. Does not assert that it worked."""
    if urlsplit(page.url).path != "/sign-in":
        page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.click_button("Sign in")
    if urlsplit(page.url).path == "/sign-in/two-factor":
        from tests.two_factor_codes import next_code

        page.get_by_label("Security code").fill(next_code(email))
        page.click_button("Continue")
    elif urlsplit(page.url).path == "/account/two-factor":
        set_up_two_factor(page, email)


def set_up_two_factor(page: CheckedPage, email: str) -> list[str]:
    """Set up two-factor sign-in through its pages (the key typed, as if the QR code could not be
    scanned). Returns the recovery codes shown."""
    from tests.two_factor_codes import next_code, remember

    page.click_button("Set up two-factor sign-in")
    remember(email, page.locator("[data-setup-key]").inner_text())
    page.get_by_label("Enter the 6-digit code your app shows").fill(next_code(email))
    page.click_button("Turn on two-factor sign-in")
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    with page.next_page():
        page.get_by_role("button", name="Continue").click()
    return codes


def sign_out(page: CheckedPage) -> None:
    """Sign out with the button in the header."""
    with page.next_page():
        page.locator("header").get_by_role("button", name="Sign out").click()


def run_jobs(app, live_server: LiveServer) -> int:
    """Do what a job worker does: run the tasks the served app has queued (an export's file), here,
    on the same database. The tests of real worker processes are in tests/test_jobs.py."""
    from app.jobs import huey

    return run_queued_on(app, live_server.jobs_url, huey.name)


def deliver_outbox(app, base_url: str | None = None) -> DeliveryReport:
    """Run the outbox worker once, in the test process, to the test SMTP server. `base_url`: the
    service's address for the links of emails the worker writes itself (a password reset's), as
    the served app's BASE_URL (a worker shares the web servers' settings)."""
    kept = app.config["BASE_URL"]
    if base_url:
        app.config["BASE_URL"] = base_url
    try:
        with app.app_context():
            report = deliver_due()
    finally:
        app.config["BASE_URL"] = kept
    assert not report.errors, f"Outbox delivery failed: {report.errors}"
    return report


def only_email_to(smtp_server, address: str) -> Received:
    messages = smtp_server.to(address)
    assert len(messages) == 1, f"expected one email to {address}, got {[m.subject for m in messages]}"
    return messages[0]


def link_in(message: Received, live_server: LiveServer) -> str:
    """The one link to this app in an email's text body (besides the email preferences link that
    ends every email)."""
    links = [url for url in re.findall(r"https?://\S+", message.text)
             if url.startswith(live_server.url + "/") and url != live_server.url + "/account/email-notifications"]
    assert len(links) == 1, f"expected one link to {live_server.url} in:\n{message.text}"
    return links[0]
