"""A contribution's budget to and from Excel: the template, the preview of an uploaded sheet with
its problems row by row, and importing (adding, or replacing every line) all or nothing.

Files are made here with openpyxl (the downloaded template, filled in) and by
tests/fixtures/budget_sheets.py (merged cells, formulas with and without the values Excel saved, a
link to another workbook, a sheet of 10,000 rows, a "zip bomb")."""

from __future__ import annotations

import html
import io
import re
import time

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BudgetLine, Contribution, ContributionStatus, MatchType, User
from app.services import budget as budget_service
from tests.conftest import CSRF_RE
from tests.fixtures import budget_sheets as sheets
from tests.fixtures import documents
from tests.test_statement_counts import counting

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def base(world) -> str:
    return f"/contributions/{world.contribution_a1}/budget"


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def upload(client, world, data: bytes, filename: str = "budget.xlsx"):
    token = CSRF_RE.search(client.get(f"{base(world)}/import").get_data(as_text=True)).group(1)
    return client.post(
        f"{base(world)}/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def confirm_data(preview) -> dict:
    """The confirmation form of a preview page, as the browser would send it."""
    page = preview.get_data(as_text=True)
    form = page[page.index('action="/contributions/'):]
    form = form[: form.index("</form>")]
    assert "/budget/import/confirm" in form[:200]
    fields = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(html.unescape(value))
    return data


def confirm(client, world, preview, mode: str | None = None, **changes):
    data = confirm_data(preview)
    if mode:
        data["mode"] = [mode]
    data.update(changes)
    return client.post(f"{base(world)}/import/confirm", data=data)


def lines_of(app, contribution_id: int) -> list[tuple]:
    with app.app_context():
        found = db.session.scalars(
            select(BudgetLine).where(BudgetLine.contribution_id == contribution_id).order_by(BudgetLine.id)
        ).all()
        return [
            (b.financial_year.label, b.cost_category.name, b.description, b.amount_pence, b.match_pence,
             b.match_type, b.match_source)
            for b in found
        ]  # fmt: skip


def add_existing(app, world, *descriptions: str) -> None:
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        for i, description in enumerate(descriptions):
            budget_service.add_line(actor, c, financial_year_id=c.round.financial_years[0].id,
                                    cost_category_id=c.round.cost_categories[1].id, description=description,
                                    amount_pence=(i + 1) * 1000_00)  # fmt: skip
        db.session.commit()


@pytest.fixture
def manager(signed_in):
    return signed_in("csp_manager")


# --- the template --------------------------------------------------------------------------


def test_the_template_has_the_rounds_lists_money_formats_and_the_lines_already_there(app, world, manager):
    add_existing(app, world, "Detached youth worker", "=HYPERLINK(\"http://example.com\")")
    budget_page = manager.get(base(world)).get_data(as_text=True)
    assert "Download the budget as an Excel template" in budget_page
    assert "Import budget lines from Excel" in budget_page

    response = manager.get(f"{base(world)}/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["Budget lines", "How to fill this in", "Lists"]
    ws = wb["Budget lines"]
    assert [c.value for c in ws[1]] == sheets.HEADINGS
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[2]][:4] == ["2018/19", "Commissioned services", "Detached youth worker", 1000]
    assert ws["D2"].number_format == '"£"#,##0.00'
    assert ws["C3"].value == '=HYPERLINK("http://example.com")' and ws["C3"].data_type == "s"  # text, not a formula
    rules = {str(dv.sqref)[0]: dv for dv in ws.data_validations.dataValidation}
    assert rules["A"].type == "list" and rules["A"].formula1 == "'Lists'!$A$2:$A$3"
    assert rules["B"].type == "list" and "C" not in rules  # any description
    assert rules["D"].type == "decimal" and rules["D"].formula1 == "0"
    assert rules["E"].type == "decimal" and rules["F"].type == "list"
    lists = wb["Lists"]
    assert lists.sheet_state == "hidden"
    assert [lists.cell(row=r, column=1).value for r in (2, 3)] == ["2018/19", "2019/20"]
    assert [lists.cell(row=r, column=3).value for r in (2, 3)] == ["Cash", "In-kind"]
    assert wb["How to fill this in"]["A1"].value == "How to fill this in"


def test_lead_bidder_users_get_neither_the_links_nor_the_pages(world, signed_in):
    staff = signed_in("lead_staff")
    assert "Import budget lines from Excel" not in staff.get(base(world)).get_data(as_text=True)
    assert staff.get(f"{base(world)}/import").status_code == 403
    assert staff.get(f"{base(world)}/template.xlsx").status_code == 403


def test_a_submitted_contribution_sends_the_csp_back_with_the_reason(app, world, manager):
    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).status = ContributionStatus.SUBMITTED
        db.session.commit()
    assert "Import budget lines from Excel" not in manager.get(base(world)).get_data(as_text=True)
    response = manager.get(f"{base(world)}/import", follow_redirects=True)
    assert "was submitted, so it cannot be changed" in response.get_data(as_text=True)


# --- the round trip ----------------------------------------------------------------------------


def test_download_fill_upload_and_add_the_lines(app, world, manager):
    template = manager.get(f"{base(world)}/template.xlsx").data
    filled = sheets.fill_template(template, [
        ["2018/19", "Staff", "Detached youth worker (1 FTE)", 32500, None, None, None],
        ["2019/20", "Training", "Trauma-informed practice", 1250.5, 500, "In-kind", "Reading Borough Council"],
        [None, None, None, None, None, None, None],  # a blank row is skipped
        ["2019/20", "Staff", "Mentoring", "£2,000.00", 1000, "Cash", "Thames Valley Police"],
    ])  # fmt: skip
    preview = upload(manager, world, filled, "Reading budget.xlsx")
    page = text_of(preview)
    assert preview.status_code == 200, page[:3000]
    assert "3 budget lines can be imported" in page
    assert "2018/19 1 £32,500.00 £0.00" in page and "2019/20 2 £3,250.50 £1,500.00" in page
    assert "Total 3 £35,750.50 £1,500.00" in page
    assert lines_of(app, world.contribution_a1) == []  # nothing written by the preview

    done = confirm(manager, world, preview)
    assert done.status_code == 302 and done.headers["Location"].endswith("/budget")
    assert "3 budget lines added" in manager.get(base(world)).get_data(as_text=True)
    assert lines_of(app, world.contribution_a1) == [
        ("2018/19", "Staff", "Detached youth worker (1 FTE)", 32500_00, 0, None, None),
        ("2019/20", "Training", "Trauma-informed practice", 1250_50, 500_00, MatchType.IN_KIND,
         "Reading Borough Council"),
        ("2019/20", "Staff", "Mentoring", 2000_00, 1000_00, MatchType.CASH, "Thames Valley Police"),
    ]  # fmt: skip
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("budget_line.added") == 3 and actions[-1] == "budget.imported"


def test_columns_in_another_order_under_a_title_with_extra_columns(app, world, manager):
    data = sheets.sheet_bytes(
        [[5000, "Youth worker", "Staff", "2019-20", "ignored"]],
        headings=["Amount", "Description", "Cost category", "Financial year", "Notes"],
        before=[["Reading CSP budget 2018"], []],
    )
    preview = upload(manager, world, data)
    page = text_of(preview)
    assert preview.status_code == 200, page[:2000]
    assert "These columns were not read: Notes" in page
    confirm(manager, world, preview)
    assert lines_of(app, world.contribution_a1) == [("2019/20", "Staff", "Youth worker", 5000_00, 0, None, None)]


# --- problems, row by row ----------------------------------------------------------------------


def test_row_errors_in_govuk_words_and_nothing_imported(app, world, manager):
    data = sheets.sheet_bytes([
        ["2018/19", "Staff", "Youth worker", 1000],
        ["2018/19", "Staff", "No amount", None],
        ["2020/21", "Staff", "Wrong year", 100],
        ["2018/19", "Staff", "Too precise", "12.345"],
        ["2018/19", "Staff", "", 100],
        ["2018/19", "Staff", "Negative", -5],
        ["2018/19", "Staff", "Match with no type", 100, 50],
        ["", "Hats", "Blank year, unknown category", 100],
    ])  # fmt: skip
    response = upload(manager, world, data)
    page = text_of(response)
    assert response.status_code == 400
    assert page.startswith("Error:") or "There is a problem" in page
    for message in [
        "Row 3: enter the amount requested, in pounds and pence",
        "Row 4: select a financial year from the list – “2020/21” is not one of this round’s (2018/19, 2019/20)",
        "Row 5: amount requested must not have more than 2 decimal places, like 1,250.50",
        "Row 6: enter a description of what the money is for",
        "Row 7: amount requested must be £0 or more",
        "Row 8: select whether the match funding is cash or in-kind",
        "Row 9: select the financial year",
        "Row 9: select a cost category from the list – “Hats” is not one of this round’s",
    ]:
        assert message in page, message
    assert "Nothing has been imported" in page
    assert "/budget/import/confirm" not in response.get_data(as_text=True)
    assert lines_of(app, world.contribution_a1) == []


def test_merged_cells(app, world, manager):
    response = upload(manager, world, sheets.merged())
    page = text_of(response)
    assert "Row 5: the amount requested is in cells merged across rows 5 to 6 – unmerge them" in page
    assert "3 budget lines can be imported" in page  # the year merged down counts for rows 3 and 4
    assert "3 2018/19 Staff Youth worker £20,000.50" in page
    assert "4 2018/19 Training Trauma-informed practice training £4,000.00" in page
    assert "These columns were not read: Notes" in page


def test_formulas_are_read_as_the_values_excel_saved(app, world, manager):
    preview = upload(manager, world, sheets.formulas(saved=True))
    assert preview.status_code == 200, text_of(preview)[:2000]
    confirm(manager, world, preview)
    assert [line[3] for line in lines_of(app, world.contribution_a1)] == [30000_00, 2000_00, 31000_00]


def test_a_formula_with_no_saved_value_is_never_guessed(app, world, manager):
    page = text_of(upload(manager, world, sheets.formulas(saved=False)))
    assert "Row 2: the amount requested is a formula with no saved value – type the amount in" in page
    assert "Row 3: the amount requested is a formula with no saved value – type the amount in" in page
    assert lines_of(app, world.contribution_a1) == []


def test_an_amount_from_another_workbook_must_be_typed_in(app, world, manager):
    response = upload(manager, world, sheets.external_link())
    page = text_of(response)
    assert response.status_code == 400
    assert "Row 2: the amount requested comes from another workbook – type the amount in" in page
    assert "£9,999" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (documents.legacy_xls(), "old Excel"),
        (documents.xlsx(macros=True), "macro"),
        (sheets.xlsx_bomb(), ""),
        (documents.docx(), "The selected file must be an Excel workbook (.xlsx)"),
        (sheets.sheet_bytes([["x"]], headings=["Something else"]), "does not have a budget sheet"),
        (sheets.sheet_bytes([]), "has no budget lines under its headings"),
        (sheets.damaged(), "The selected file could not be read"),
    ],
    ids=["xls", "xlsm", "zip bomb", "docx", "no headings", "no lines", "damaged"],
)
def test_files_that_cannot_be_used(app, world, manager, data, message):
    response = upload(manager, world, data)
    page = text_of(response)
    assert response.status_code == 400
    assert "There is a problem" in page and message.lower() in page.lower()
    assert lines_of(app, world.contribution_a1) == []


def test_the_file_is_surveyed_streamed_with_its_formulas_as_text_before_it_is_loaded(app):
    from app.services import ServiceError, office

    seen = []

    def survey(workbook):
        ws = workbook.worksheets[0]
        row = next(ws.iter_rows(min_row=2))
        seen.extend((cell.row, cell.column, cell.data_type, cell.value) for cell in row if cell.value is not None)
        raise ServiceError("Too big", "file")

    opened = office.check_xlsx(sheets.formulas(saved=True), "budget.xlsx")
    with pytest.raises(ServiceError, match="Too big"):
        office.survey_xlsx(opened, survey)
    assert (2, 4, "f", "=12*2500") in seen  # the formula, not its saved value, and never worked out


def test_a_round_without_match_funding_has_no_match_columns(app, world, manager):
    with app.app_context():
        rnd = db.session.get(Contribution, world.contribution_a1).round
        rnd.match_cash = rnd.match_in_kind = False
        db.session.commit()
    wb = openpyxl.load_workbook(io.BytesIO(manager.get(f"{base(world)}/template.xlsx").data))
    assert [c.value for c in wb["Budget lines"][1]] == sheets.HEADINGS[:4]
    data = sheets.sheet_bytes([["2018/19", "Staff", "Youth worker", 100, 50, "Cash", "Council"]])
    page = text_of(upload(manager, world, data))
    assert "Row 2: this round does not take match funding: leave the match funding empty" in page


def test_no_file_chosen(world, manager):
    token = CSRF_RE.search(manager.get(f"{base(world)}/import").get_data(as_text=True)).group(1)
    response = manager.post(f"{base(world)}/import", data={"csrf_token": token})
    assert response.status_code == 400 and "Select an Excel workbook (.xlsx)" in text_of(response)


def test_a_sheet_of_10000_rows_is_refused_quickly(world, manager):
    data = sheets.many_rows(10_000)
    started = time.perf_counter()
    response = upload(manager, world, data)
    took = time.perf_counter() - started
    assert response.status_code == 400
    assert "The budget sheet has more than 1,000 lines – upload 1,000 lines or fewer at a time" in text_of(response)
    print(f"10,000-row sheet refused in {took:.2f}s")
    assert took < 10  # a generous bound on a shared machine: it reads 1,001 rows, not 10,000


# --- adding or replacing -----------------------------------------------------------------------


def test_replacing_every_line_keeps_the_old_ones_in_the_activity(app, world, manager, signed_in):
    add_existing(app, world, "Old line one", "Old line two")
    template = manager.get(f"{base(world)}/template.xlsx").data
    wb = openpyxl.load_workbook(io.BytesIO(template))
    wb["Budget lines"].delete_rows(2, 2)
    filled = sheets.fill_template(sheets.save(wb), [["2018/19", "Staff", "New line", 500, None, None, None]], 2)
    preview = upload(manager, world, filled)
    assert "Your budget has 2 budget lines now" in text_of(preview)

    unchosen = confirm(manager, world, preview)
    assert unchosen.status_code == 400
    assert "Select whether to add these lines to your budget or replace its lines with them" in text_of(unchosen)
    assert len(lines_of(app, world.contribution_a1)) == 2

    done = confirm(manager, world, unchosen, mode="replace")
    assert done.status_code == 302
    assert "1 budget line added, replacing the 2 lines that your budget had" in manager.get(base(world)).get_data(
        as_text=True
    )
    assert [line[2] for line in lines_of(app, world.contribution_a1)] == ["New line"]

    activity = text_of(manager.get(f"/review/contributions/{world.contribution_a1}/timeline"))
    assert "Budget lines imported from Excel" in activity
    assert ("Imported 1 budget line from Excel into Reading Community Safety Partnership's contribution, "
            "replacing its 2 lines") in activity
    replaced = "The budget lines it replaced: Old line one (2018/19, Commissioned services), £1,000.00 requested"
    assert replaced in activity

    admin = signed_in("lead_admin")
    history = text_of(admin.get("/admin/activity?action=budget_line.deleted"))
    assert "Deleted a budget line from Reading Community Safety Partnership's contribution: Old line one" in history
    assert "Old line two (2018/19, Commissioned services), £2,000.00 requested" in history


def test_replacing_is_refused_when_the_budget_changed_since_the_preview(app, world, manager):
    add_existing(app, world, "Old line")
    preview = upload(manager, world, sheets.sheet_bytes([["2018/19", "Staff", "New line", 500]]))
    with app.app_context():  # someone else changes the line meanwhile
        line = db.session.scalars(select(BudgetLine)).one()
        budget_service.change_line(
            db.session.get(User, world.users["csp_contributor"]), line, expected_version=line.version,
            financial_year_id=line.financial_year_id, cost_category_id=line.cost_category_id,
            description="Old line, changed", amount_pence=line.amount_pence,
        )  # fmt: skip
        db.session.commit()
    refused = confirm(manager, world, preview, mode="replace")
    assert refused.status_code == 409
    assert "Your budget has changed since you uploaded the file" in text_of(refused)
    assert [line[2] for line in lines_of(app, world.contribution_a1)] == ["Old line, changed"]

    # a line added meanwhile: refused too; adding (not replacing) is fine
    preview = upload(manager, world, sheets.sheet_bytes([["2018/19", "Staff", "New line", 500]]))
    add_existing(app, world, "Added meanwhile")
    assert confirm(manager, world, preview, mode="replace").status_code == 409
    assert confirm(manager, world, preview, mode="add").status_code == 302
    descriptions = [line[2] for line in lines_of(app, world.contribution_a1)]
    assert descriptions == ["Old line, changed", "Added meanwhile", "New line"]


def test_the_carried_lines_are_checked_again(app, world, manager):
    preview = upload(manager, world, sheets.sheet_bytes([["2018/19", "Staff", "New line", 500]]))
    data = confirm_data(preview)
    with app.app_context():
        other_year = db.session.get(Contribution, world.contribution_b1).round.financial_years[0].id
    data["lines"] = [re.sub(r"^\[\[2,\d+", f"[[2,{other_year}", data["lines"][0])]
    response = manager.post(f"{base(world)}/import/confirm", data={**data, "mode": "add"})
    assert response.status_code == 400 and "upload the file again" in text_of(response)
    data["lines"] = ["not json"]
    assert manager.post(f"{base(world)}/import/confirm", data={**data, "mode": "add"}).status_code == 400
    assert lines_of(app, world.contribution_a1) == []


# --- what the pages cost -------------------------------------------------------------------------


def _statements(app, world, manager, count: int) -> tuple[int, int]:
    data = sheets.sheet_bytes(sheets.lines(count))
    token = CSRF_RE.search(manager.get(f"{base(world)}/import").get_data(as_text=True)).group(1)
    with app.app_context(), counting() as previewing:
        preview = manager.post(f"{base(world)}/import", content_type="multipart/form-data",
                               data={"csrf_token": token, "file": (io.BytesIO(data), "b.xlsx")})  # fmt: skip
    assert preview.status_code == 200
    with app.app_context(), counting() as confirming:
        assert confirm(manager, world, preview, mode="replace" if "mode" in preview.get_data(as_text=True) else None
                       ).status_code == 302  # fmt: skip
    return len(previewing), len(confirming)


def test_preview_and_confirm_do_not_query_per_row(app, world, manager):
    small = _statements(app, world, manager, 3)
    big = _statements(app, world, manager, 300)  # replaces the 3 lines with 300
    print(f"statements (preview, confirm): 3 lines {small}, 300 lines {big}")
    assert big[0] == small[0], (small, big)
    assert big[1] <= small[1] + 4, (small, big)  # batched inserts and deletes may take a statement or two more
