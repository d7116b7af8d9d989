"""Take the README's screenshots from the demo data in a real Chromium.

    .venv/bin/python scripts/screenshots.py

Builds a throwaway SQLite database with the migrations and the demo data, serves it with
gunicorn on a free port, signs in as the demo users and saves PNGs in docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "docs" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# (who signs in, path, file name): {round} is the current (open) demo round, {bracknell} and
# {reading} those CSPs' contributions to it
SHOTS = [
    ("admin@tvpcc.example.org", "/admin/organisation", "organisation.png"),
    ("admin@tvpcc.example.org", "/home", "home-lead-admin.png"),
    ("admin@tvpcc.example.org", "/rounds/{round}", "round.png"),
    ("admin@tvpcc.example.org", "/rounds/{round}/budget-rules", "round-budget-rules.png"),
    ("admin@tvpcc.example.org", "/rounds/{round}/participants", "round-participants.png"),
    ("admin@tvpcc.example.org", "/rounds/new", "round-new.png"),
    ("bracknell@csp.example.org", "/home", "home-csp-manager.png"),
    ("bracknell@csp.example.org", "/contributions/{bracknell}", "task-list.png"),
    ("reading@csp.example.org", "/contributions/{reading}/check-your-answers", "check-answers.png"),
    ("staff@tvpcc.example.org", "/review/rounds/{round}", "review-overview.png"),
    ("staff@tvpcc.example.org", "/bid/rounds/{round}", "bid-overview.png"),
    ("staff@tvpcc.example.org", "/bid/rounds/{round}/budget", "bid-budget.png"),
    ("staff@tvpcc.example.org", "/rounds/{round}/exports", "exports.png"),
    ("staff@tvpcc.example.org", "/exports/1", "export-ready.png"),
    ("admin@tvpcc.example.org", "/rounds/{round}/deadlines", "deadlines.png"),
    ("admin@tvpcc.example.org", "/rounds/{round}/reminders", "reminders.png"),
    ("reading@csp.example.org", "/account/calendar", "calendar.png"),
    ("bracknell@csp.example.org", "/whats-new", "whats-new.png"),
    ("bracknell@csp.example.org", "/team", "team.png"),
    ("staff@tvpcc.example.org", "/search?q=youth+workers", "search.png"),
    ("staff@tvpcc.example.org", "/tasks", "your-tasks.png"),
    ("staff@tvpcc.example.org", "/bid/rounds/{round}/whole", "whole-bid.png"),
    ("bracknell@csp.example.org", "/contributions/{bracknell}/import", "import-draft-preview.png", "draft"),
    ("bracknell@csp.example.org", "/contributions/{bracknell}/budget/import", "import-budget-preview.png", "budget"),
]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(page, kind: str) -> None:
    """Upload a file as the CSP would, for the screenshot of what the import shows before saving:
    a Word draft shaped like a real one, or the budget template filled in with twelve lines."""
    from tests.fixtures import budget_sheets, word_drafts

    if kind == "draft":
        page.get_by_label("Upload your Word document").set_input_files(
            files=[{"name": "Bracknell draft.docx", "mimeType": DOCX_TYPE, "buffer": word_drafts.realistic_draft()}]
        )
        page.get_by_role("button", name="Upload and preview").click()
    else:
        import io

        import openpyxl

        template = page.request.get(page.url.replace("/import", "/template.xlsx")).body()
        lists = openpyxl.load_workbook(io.BytesIO(template))["Lists"]
        years = tuple(row[0] for row in lists.iter_rows(min_row=2, max_col=1, values_only=True) if row[0])
        sheet = budget_sheets.fill_template(template, budget_sheets.lines(12, years=years))
        page.get_by_label("Upload your budget sheet").set_input_files(
            files=[{"name": "Bracknell budget.xlsx", "mimeType": XLSX_TYPE, "buffer": sheet}]
        )
        page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="pb-shots-"))
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite'}",
        "MAIL_BACKEND": "console",
        "EXPORT_FOLDER": str(tmp / "exports"),
        "FLASK_DEBUG": "0",
    }
    os.environ.update(env)

    from flask_migrate import upgrade

    from app import create_app, demo
    from app.extensions import db

    app = create_app("development")
    with app.app_context():
        upgrade()
        passwords = {login.email: login.password for login in demo.seed()}
        db.session.commit()
        # One export of the bid, for the export pages' screenshots (/exports/1).
        from sqlalchemy import select

        from app.models import Round, RoundStatus, User
        from app.services.exports import export_now

        current = db.session.scalar(select(Round).where(Round.status == RoundStatus.OPEN))
        ids = {"round": current.id}
        for c in current.contributions:
            ids[c.csp.short_name.split()[0].lower()] = c.id
        staff = db.session.scalar(select(User).where(User.email == "staff@tvpcc.example.org"))
        export_now(staff, current, "docx")
        # Lead bidder administrators and staff sign in with a second factor: give each one a key and
        # one-time recovery codes, one per screenshot (an app's code works only once).
        import secrets

        import pyotp

        from app.models import RecoveryCode
        from app.models.base import utcnow
        from app.models.user import TWO_FACTOR_ROLES
        from app.services.tokens import hash_token

        recovery = {}
        for user in db.session.scalars(select(User).where(User.role.in_(TWO_FACTOR_ROLES))):
            user.totp_secret, user.two_factor_enabled_at = pyotp.random_base32(), utcnow()
            recovery[user.email] = [secrets.token_hex(5) for _ in SHOTS]
            db.session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(c)) for c in recovery[user.email])
        db.session.commit()

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 - our own loopback server
                break
            except OSError:
                time.sleep(0.1)
        from playwright.sync_api import sync_playwright

        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for email, path, name, *steps in SHOTS:
                context = browser.new_context(viewport={"width": 1100, "height": 800})
                page = context.new_page()
                page.goto(base + "/sign-in")
                page.get_by_label("Email address").fill(email)
                page.get_by_label("Password", exact=True).fill(passwords[email])
                page.get_by_role("button", name="Sign in").click()
                if email in recovery:
                    page.wait_for_url(base + "/sign-in/two-factor")
                    page.get_by_label("Security code").fill(recovery[email].pop())
                    page.get_by_role("button", name="Continue").click()
                page.wait_for_url(base + "/home")
                page.goto(base + path.format(**ids))
                for step in steps:
                    upload(page, step)
                page.screenshot(path=str(OUT / name), full_page=True)
                print(f"saved {OUT / name}")
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
