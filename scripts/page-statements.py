"""Which line of the app ran each SQL statement of a key page: for finding the query a page added.

    .venv/bin/python scripts/page-statements.py "bid overview"          # a round of 14 CSPs
    .venv/bin/python scripts/page-statements.py "bid overview" 100 3    # 100 CSPs, 3 revisions

The page names are those of tests/test_statement_counts.py. The round is built once per size with
tests/sized_round.py in instance/page-statements-<csps>-<revisions>.sqlite (delete it to build again);
the page is requested twice by its user, and the second request's statements are listed with the
app code or template lines that ran them, most frequent first."""

from __future__ import annotations

import collections
import json
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["APP_ENV"] = "testing"


def main(page: str, csps: int = 14, revisions: int = 3) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from tests import sized_round
    from tests.conftest import sign_in_directly
    from tests.test_statement_counts import PAGES

    if page not in PAGES:
        sys.exit(f"Choose one of: {', '.join(PAGES)}")
    database = ROOT / "instance" / f"page-statements-{csps}-{revisions}.sqlite"
    built_file = database.with_suffix(".json")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
                     UPLOAD_FOLDER=str(ROOT / "instance" / "page-statements-uploads"),
                     EXPORT_FOLDER=str(ROOT / "instance" / "page-statements-exports"))
    if not built_file.exists():
        database.unlink(missing_ok=True)
        with app.app_context():
            upgrade()
        with app.test_request_context("/"):
            built = sized_round.build(csps, revisions)
        built_file.write_text(json.dumps(built.__dict__))
    built = json.loads(built_file.read_text())
    ids = {"round": built["round_id"], "contribution": built["contribution_id"],
           "csp_section": built["csp_section_id"], "bid_section": built["bid_section_id"],
           "reviewed": built["reviewed_id"]}
    who, url, budget = PAGES[page]
    client = app.test_client()
    sign_in_directly(client, built["emails"][who])
    path = url.format(**ids)
    client.get(path)
    ran: collections.Counter = collections.Counter()

    def record(conn, cursor, statement, parameters, context, executemany):
        frames = [f for f in traceback.extract_stack()
                  if str(ROOT / "app") in f.filename and "site-packages" not in f.filename]
        where = " < ".join(f"{Path(f.filename).relative_to(ROOT)}:{f.lineno}" for f in frames[-3:][::-1])
        first = " ".join(statement.split())[:110]
        ran[(first, where)] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        status = client.get(path).status_code
    print(f"{page} ({path}): HTTP {status}, {sum(ran.values())} statements (budget {budget})")
    for (statement, where), n in ran.most_common():
        print(f"{n:4d}  {statement}\n      at {where}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    main(args[0], *(int(a) for a in args[1:3]))
