"""An export whose file the retention run removed, in a real browser at 320px: its page (checked with
axe-core by the harness) says why and leads to exporting again, and its old download link lands there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Contribution, ExportRecord, ExportStatus, User
from app.models.base import utcnow
from app.services import exports as service
from app.services.retention import run_retention
from tests.browser.conftest import expect, sign_in

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 720}


def test_a_removed_exports_page_at_320_pixels(app, world, page):
    with app.app_context():
        manager = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        export = service.export_now(manager, contribution.round, "docx", contribution)
        assert export.status == ExportStatus.READY, export.error
        export_id = export.id
        db.session.execute(update(ExportRecord).where(ExportRecord.id == export_id)
                           .values(created_at=utcnow() - timedelta(days=30, hours=3)))
        db.session.commit()
        run_retention()

    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/exports/{export_id}/download")  # an old link: the export's page
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=2)).to_have_text("This file has been removed")
    expect(main).to_contain_text("This file was removed after 30 days – export the contribution again.")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    page.click_link("export the contribution again")
    row = page.locator(".pb-export-history tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("File removed")
