"""How long importing a budget sheet of 500 lines takes, against baselines measured in the same run.
Prints numbers; not a test.

    python -m benchmarks.import_budget                       # SQLite, 500 lines, best of 5
    python -m benchmarks.import_budget --lines 1000 --repeat 3 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_import

A world like the tests' (tests/conftest.build_world: a lead bidder, CSPs, an open EIYF round) is
built in a fresh database; the sheet is the app's own template filled with `--lines` lines by
openpyxl. Through the app (Flask's test client, signed in as the CSP's manager) it times:

- baseline "openpyxl load": openpyxl loading the same file whole (data_only), nothing else;
- baseline "budget page": the CSP's budget page (empty), i.e. a signed-in page of this app;
- "template": downloading the template (with the lines filled in, after the import);
- "preview": uploading the file: the checks, reading it and rendering the preview page;
- "confirm": importing the lines from the preview's form (replacing the lines of the run before,
  after the first run), then the redirect; every run imports all the lines.

A PostgreSQL database named in --database-url is emptied first; its name must start with "bench".
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import tempfile
import time
from html import unescape
from pathlib import Path

from sqlalchemy.engine import make_url


def _app(url: str):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_BACKEND="console")


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(best, median) seconds of `repeat` runs of fn()."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_budget", description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    import openpyxl

    from benchmarks import reset_database
    from tests.conftest import CSRF_RE, build_world, sign_in_directly
    from tests.fixtures import budget_sheets

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'import.sqlite'}"
        if args.database_url and not (make_url(url).database or "").startswith("bench"):
            parser.error("the PostgreSQL database's name must start with 'bench' (it is emptied)")
        app = _app(url)
        reset_database(app)
        world = build_world(app)
        client = app.test_client()
        sign_in_directly(client, world.emails["csp_manager"])
        base = f"/contributions/{world.contribution_a1}/budget"

        template = client.get(f"{base}/template.xlsx").data
        data = budget_sheets.fill_template(template, budget_sheets.lines(args.lines))
        token = CSRF_RE.search(client.get(f"{base}/import").get_data(as_text=True)).group(1)

        results: dict[str, tuple[float, float]] = {}
        results["baseline: openpyxl load"] = _timed(
            lambda: openpyxl.load_workbook(io.BytesIO(data), data_only=True), args.repeat
        )
        results["baseline: budget page"] = _timed(lambda: client.get(base), args.repeat)

        def preview():
            response = client.post(
                f"{base}/import",
                data={"csrf_token": token, "file": (io.BytesIO(data), "budget.xlsx")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 200, response.status_code

        results["preview"] = _timed(preview, args.repeat)

        def confirm_form() -> dict[str, list[str]]:
            page = client.post(
                f"{base}/import",
                data={"csrf_token": token, "file": (io.BytesIO(data), "budget.xlsx")},
                content_type="multipart/form-data",
            ).get_data(as_text=True)
            form = page[page.index("/budget/import/confirm"):]
            form = form[: form.index("</form>")]
            fields: dict[str, list[str]] = {}
            for name, value in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form):
                fields.setdefault(name, []).append(unescape(value))
            fields["mode"] = ["replace"]
            return fields

        confirm_times = []
        for _ in range(args.repeat):
            fields = confirm_form()  # the preview of the budget as it is now (its state), not timed
            started = time.perf_counter()
            response = client.post(f"{base}/import/confirm", data=fields)
            confirm_times.append(time.perf_counter() - started)
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        results["confirm"] = (min(confirm_times), statistics.median(confirm_times))
        results["template"] = _timed(lambda: client.get(f"{base}/template.xlsx"), args.repeat)

        with app.app_context():
            from sqlalchemy import func, select

            from app.extensions import db
            from app.models import BudgetLine

            count = db.session.scalar(select(func.count()).select_from(BudgetLine))
        assert count == args.lines, count
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()

    print(f"Importing a budget sheet of {args.lines} lines ({len(data) / 1024:.0f} KB), "
          f"{make_url(url).get_backend_name()}, best and median of {args.repeat}:")
    base_load = results["baseline: openpyxl load"][0]
    for name, (best, median) in results.items():
        print(f"  {name:<26} {best * 1000:8.0f} ms  {median * 1000:8.0f} ms  ({best / base_load:4.1f}× openpyxl load)")
    return results


if __name__ == "__main__":
    main()
