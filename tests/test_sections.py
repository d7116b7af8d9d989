"""Narrative sections: writing, word limits, completing, revisions, conflicts, history and diffs."""

from __future__ import annotations

import html
import re
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Contribution,
    ContributionStatus,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    User,
)
from app.services import ServiceError
from app.services.sections import SectionConflict, save_section
from app.text import count_words, diff_texts, render_text
from tests.conftest import CSRF_RE, post_form

SAVE = {"save": "y"}
COMPLETE = {"complete": "y"}
VERSION_RE = re.compile(r'name="version" type="hidden" value="(\d+)"')


def section_url(world, suffix: str = "", section_id: int | None = None, contribution_id: int | None = None) -> str:
    return (
        f"/contributions/{contribution_id or world.contribution_a1}/sections/{section_id or world.section_a}{suffix}"
    )


def words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


class Editor:
    """One person at one browser tab: loads the section page, then sends what they typed."""

    def __init__(self, client, world):
        self.client, self.world = client, world
        self.token = self.version = None

    def open(self):
        response = self.client.get(section_url(self.world))
        assert response.status_code == 200, response.status_code
        body = response.get_data(as_text=True)
        self.token = CSRF_RE.search(body).group(1)
        self.version = VERSION_RE.search(body).group(1)
        return response

    def send(self, text: str, button: dict = SAVE, version: str | None = None):
        data = {"text": text, "version": version or self.version, "csrf_token": self.token, **button}
        return self.client.post(section_url(self.world), data=data)


def save(client, world, text: str, button: dict = SAVE):
    editor = Editor(client, world)
    editor.open()
    return editor.send(text, button)


def response_row(app, world) -> SectionResponse | None:
    with app.app_context():
        row = db.session.scalar(
            select(SectionResponse).where(
                SectionResponse.contribution_id == world.contribution_a1, SectionResponse.section_id == world.section_a
            )
        )
        if row is not None:
            db.session.expunge(row)
        return row


def revisions(app, world) -> list[tuple]:
    with app.app_context():
        return [
            (r.number, r.text, r.word_count, r.completed, r.created_by_id)
            for r in db.session.scalars(
                select(SectionRevision)
                .join(SectionResponse)
                .where(
                    SectionResponse.contribution_id == world.contribution_a1,
                    SectionResponse.section_id == world.section_a,
                )
                .order_by(SectionRevision.number)
            )
        ]


def section_limit(app, world) -> int:
    with app.app_context():
        return db.session.get(SectionTemplate, world.section_a).csp_word_limit


def set_status(app, world, status: ContributionStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).status = status
        db.session.commit()


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("section.%")).order_by(AuditEvent.id)
            )
        )


def task_status(client, world, section_title_part: str) -> str:
    """The status the task list shows for the section whose title contains this text."""
    body = client.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    for item in re.findall(r'<li class="govuk-task-list__item.*?</li>', body, re.DOTALL):
        if section_title_part in item:
            status = re.search(r'class="govuk-task-list__status[^"]*"[^>]*>(.*?)</div>', item, re.DOTALL).group(1)
            return re.sub(r"<[^>]+>", "", status).strip()
    raise AssertionError(f"no task {section_title_part!r}")


# --- the page ----------------------------------------------------------------------------------


def test_the_section_page_has_the_guidance_a_word_count_and_two_buttons(signed_in, world, app):
    client = signed_in("csp_manager")
    body = client.get(section_url(world)).get_data(as_text=True)

    assert "<title>2. Local need and evidence – Reading Community Safety Partnership – Partnership Bid</title>" in body
    assert '<h1 class="govuk-heading-l">2. Local need and evidence</h1>' in body
    assert "Describe the problem in your area" in body  # the guidance
    # GOV.UK's character count in words mode, with the CSP limit.
    assert 'data-module="govuk-character-count"' in body
    assert f'data-maxwords="{section_limit(app, world)}"' in body
    assert f"You can enter up to {section_limit(app, world)} words" in body
    assert ">\n  Save and come back later\n</button>" in body
    assert ">\n  Mark as completed\n</button>" in body
    assert "data-warn-unsaved>" in body  # warns once something is typed (app.mjs)
    assert 'name="version" type="hidden" value="0"' in body
    assert "Not yet started" in body


def test_the_task_list_links_each_section_to_its_page(signed_in, world):
    client = signed_in("csp_manager")
    body = client.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert f'href="{section_url(world)}"' in body
    assert client.get(section_url(world)).status_code == 200


def test_a_section_without_a_csp_word_limit_gets_a_plain_word_count(app, signed_in, world):
    with app.app_context():
        db.session.get(SectionTemplate, world.section_a).csp_word_limit = None
        db.session.commit()
    client = signed_in("csp_manager")
    body = client.get(section_url(world)).get_data(as_text=True)
    assert "govuk-character-count" not in body
    assert "data-word-count" in body and "You have written 0 words" in body
    assert save(client, world, words(2000)).status_code == 302
    assert save(client, world, words(2000), COMPLETE).status_code == 302
    assert response_row(app, world).completed


def test_sections_the_lead_bidder_writes_and_other_rounds_sections_are_not_found(app, signed_in, world):
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        lead_only = next(s for s in contribution.round.sections if not s.csp_contributes)
        other_round = db.session.get(Contribution, world.contribution_b1).round.sections[1]
        ids = [lead_only.id, other_round.id, 999_999]
    client = signed_in("csp_manager")
    for section_id in ids:
        assert client.get(section_url(world, section_id=section_id)).status_code == 404
        assert client.get(section_url(world, "/view", section_id=section_id)).status_code == 404


# --- saving and revisions ----------------------------------------------------------------------


def test_the_first_save_creates_the_response_and_revision_1(app, signed_in, world):
    assert response_row(app, world) is None
    client = signed_in("csp_contributor")

    response = save(client, world, "Knife crime in Reading rose by 20% in 2017/18.")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/contributions/{world.contribution_a1}"
    row = response_row(app, world)
    assert (row.text, row.completed, row.version, row.updated_by_id) == (
        "Knife crime in Reading rose by 20% in 2017/18.",
        False,
        1,
        world.users["csp_contributor"],
    )
    assert revisions(app, world) == [
        (1, "Knife crime in Reading rose by 20% in 2017/18.", 9, False, world.users["csp_contributor"])
    ]
    assert audit_actions(app) == ["section.saved"]
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).status == ContributionStatus.IN_PROGRESS
    page = client.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert "You saved section 2. Local need and evidence" in page
    assert task_status(client, world, "Local need and evidence") == "In progress"


def test_every_save_that_changes_something_makes_a_revision_and_an_unchanged_save_makes_none(app, signed_in, world):
    client = signed_in("csp_manager")
    save(client, world, "First draft.")
    save(client, world, "Second draft.")
    response = save(client, world, "Second draft.\r\n")  # the same text, as a browser might send it

    assert response.status_code == 302
    assert [r[:2] for r in revisions(app, world)] == [(1, "First draft."), (2, "Second draft.")]
    assert response_row(app, world).version == 2
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "There were no changes to save in section 2. Local need and evidence" in page

    # Marking the same text as completed changes its status: that is a revision too.
    save(client, world, "Second draft.", COMPLETE)
    assert [r[:4] for r in revisions(app, world)][-1] == (3, "Second draft.", 2, True)
    assert audit_actions(app) == ["section.saved", "section.saved", "section.completed"]


def test_text_is_stored_with_newlines_made_plain_and_ends_trimmed(app, signed_in, world):
    client = signed_in("csp_manager")
    save(client, world, "\r\n  First paragraph.\r\n\r\n- a bullet\r\n- another  \r\n\r\n")
    assert response_row(app, world).text == "First paragraph.\n\n- a bullet\n- another"


def test_saving_touches_the_contribution(app, signed_in, world):
    with app.app_context():
        before = db.session.get(Contribution, world.contribution_a1).updated_at
    time.sleep(0.01)
    save(signed_in("csp_manager"), world, "Something")
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).updated_at > before


# --- word limits and completing --------------------------------------------------------------


def test_marking_completed_within_the_limit_shows_completed_on_the_task_list(app, signed_in, world):
    client = signed_in("csp_manager")
    limit = section_limit(app, world)

    response = save(client, world, words(limit), COMPLETE)

    assert response.status_code == 302
    row = response_row(app, world)
    assert row.completed and row.version == 1
    assert revisions(app, world)[0][2:4] == (limit, True)
    assert task_status(client, world, "Local need and evidence") == "Completed"
    page = client.get(section_url(world)).get_data(as_text=True)
    assert "You have marked this section as completed" in page


def test_saving_over_the_word_limit_is_allowed_with_a_warning(app, signed_in, world):
    client = signed_in("csp_manager")
    limit = section_limit(app, world)

    response = save(client, world, words(limit + 42))

    assert response.status_code == 302
    assert response_row(app, world).text == words(limit + 42)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Section 2 has {limit + 42} words, which is over the limit of {limit}" in page
    assert task_status(client, world, "Local need and evidence") == "In progress"


def test_marking_completed_over_the_limit_is_refused_and_keeps_the_text(app, signed_in, world):
    client = signed_in("csp_manager")
    limit = section_limit(app, world)
    text = words(limit + 1)

    response = save(client, world, text, COMPLETE)

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<title>Error: 2. Local need and evidence" in body
    message = f"Your text must be {limit} words or fewer to mark this section as completed. It has {limit + 1} words"
    assert body.count(message) == 2  # the error summary and the field
    assert 'href="#text"' in body
    assert f">{text}</textarea>" in body
    assert 'data-warn-unsaved="changed"' in body  # leaving this page would lose the text: warn
    assert response_row(app, world) is None  # nothing saved
    assert revisions(app, world) == []


def test_marking_an_empty_section_completed_is_refused(app, signed_in, world):
    client = signed_in("csp_manager")
    response = save(client, world, "   \n  ", COMPLETE)
    assert response.status_code == 400
    assert "Enter your text before you mark this section as completed" in response.get_data(as_text=True)
    assert response_row(app, world) is None


def test_save_and_come_back_later_after_completing_puts_it_back_in_progress(app, signed_in, world):
    client = signed_in("csp_manager")
    save(client, world, "Done.", COMPLETE)
    assert task_status(client, world, "Local need and evidence") == "Completed"
    save(client, world, "Done. Mostly.")
    assert task_status(client, world, "Local need and evidence") == "In progress"
    assert [r[3] for r in revisions(app, world)] == [True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("one", 1),
        ("one two  three", 3),
        ("one\ntwo\n\nthree", 3),
        ("- bullet one\n- bullet two", 4),  # bullets are not words (Word does not count its own)
        ("don't stop-me now", 3),
        ("£700,000 per bid", 3),
        ("non\u00a0breaking", 2),  # a no-break space is a space
        ("zero\ufeffwidth", 1),  # a byte order mark is removed, as are zero-width spaces
        ("ideographic\u3000space", 2),
        ("next\x85line", 2),  # NEL is a line break
        ("file\x1cseparator", 1),  # control characters are removed
        ("emoji 👍 count", 3),
    ],
)
def test_count_words_counts_runs_between_spaces_but_not_list_markers(text, expected):
    # The browser counts the same way: tests/test_text_parity.py
    assert count_words(text) == expected


# --- conflicts ---------------------------------------------------------------------------------


def test_a_save_over_someone_elses_newer_save_gets_the_conflict_page_and_loses_nothing(app, signed_in, world):
    save(signed_in("csp_manager"), world, "The original text.")
    manager, contributor = Editor(signed_in("csp_manager"), world), Editor(signed_in("csp_contributor"), world)
    manager.open()
    contributor.open()
    assert manager.version == contributor.version == "1"

    assert manager.send("The manager's newer text.").status_code == 302
    response = contributor.send("The contributor's <own> text.")

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This section has changed since you opened it" in body
    with app.app_context():
        manager_name = db.session.get(User, world.users["csp_manager"]).full_name
    assert f"{manager_name} saved a newer version of this section at" in body
    assert "The manager&#39;s newer text." in body  # the newer saved text
    assert ">The contributor&#39;s &lt;own&gt; text.</textarea>" in body  # theirs, ready to edit
    assert 'name="version" type="hidden" value="2"' in body  # against the new version
    assert 'data-warn-unsaved="changed"' in body
    assert "pb-diff__ins" in body and "pb-diff__del" in body
    # Nothing was overwritten.
    assert response_row(app, world).text == "The manager's newer text."
    assert [r[1] for r in revisions(app, world)] == ["The original text.", "The manager's newer text."]

    # They carry on from their text, against the new version: it saves.
    contributor.token = CSRF_RE.search(body).group(1)
    assert contributor.send("Both texts, combined.", version="2").status_code == 302
    assert [r[1] for r in revisions(app, world)][-1] == "Both texts, combined."
    assert response_row(app, world).version == 3


def test_the_conflict_page_says_so_when_it_was_your_own_other_tab(app, signed_in, world):
    client = signed_in("csp_manager")
    first_tab, second_tab = Editor(client, world), Editor(client, world)
    first_tab.open()
    second_tab.open()
    first_tab.send("From the first tab.")
    body = second_tab.send("From the second tab.").get_data(as_text=True)
    assert "You saved a newer version of this section at" in body
    assert "in another window or tab" in body


def test_two_first_saves_conflict_too(app, signed_in, world):
    manager, contributor = Editor(signed_in("csp_manager"), world), Editor(signed_in("csp_contributor"), world)
    manager.open()
    contributor.open()
    assert manager.send("Manager first.").status_code == 302
    assert contributor.send("Contributor second.").status_code == 409
    assert revisions(app, world)[0][1] == "Manager first."
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SectionResponse)) == 1


def test_two_saves_at_the_same_moment_cannot_both_win(app, world):
    """Editor A's UPDATE is made but not committed when editor B's arrives: B waits for A's lock,
    then matches no row and gets the conflict, on PostgreSQL and SQLite alike."""
    a_has_written, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def edit(name: str, who: str, text: str, hold: bool) -> None:
        with app.app_context():
            try:
                save_section(
                    db.session.get(User, world.users[who]),
                    db.session.get(Contribution, world.contribution_a1),
                    db.session.get(SectionTemplate, world.section_a),
                    text,
                    0,
                    completed=False,
                )
                if hold:
                    a_has_written.set()
                    a_may_commit.wait(10)
                db.session.commit()
                outcome[name] = "saved"
            except SectionConflict as conflict:
                outcome[name] = f"conflict with {conflict.response.text!r}"
                db.session.rollback()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome[name] = f"error {exc!r}"
                db.session.rollback()
            finally:
                db.session.remove()

    a = threading.Thread(target=edit, args=("A", "csp_manager", "Text from A", True))
    b = threading.Thread(target=edit, args=("B", "csp_contributor", "Text from B", False))
    a.start()
    assert a_has_written.wait(10)
    b.start()
    time.sleep(0.5)  # B is now waiting for A's lock
    a_may_commit.set()
    a.join(15)
    b.join(15)

    assert outcome == {"A": "saved", "B": "conflict with 'Text from A'"}
    assert [r[1] for r in revisions(app, world)] == ["Text from A"]


def test_simultaneous_requests_save_once(app, signed_in, world):
    editors = [Editor(signed_in("csp_manager"), world), Editor(signed_in("csp_contributor"), world)]
    for editor in editors:
        editor.open()
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(editor: Editor, text: str) -> None:
        start.wait(5)
        statuses.append(editor.send(text).status_code)

    threads = [threading.Thread(target=send, args=(e, f"Text {i}")) for i, e in enumerate(editors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)

    assert sorted(statuses) == [302, 409]
    assert len(revisions(app, world)) == 1


def test_service_refuses_a_stale_version_without_writing(app, world):
    with app.app_context():
        manager = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        section = db.session.get(SectionTemplate, world.section_a)
        save_section(manager, contribution, section, "One", 0, completed=False)
        db.session.commit()
        with pytest.raises(SectionConflict) as caught:
            save_section(manager, contribution, section, "Two", 0, completed=False)
        assert caught.value.their_text == "Two"
        assert caught.value.response.text == "One"
        db.session.rollback()
    assert [r[1] for r in revisions(app, world)] == ["One"]


# --- who may see and change a section ------------------------------------------------------------


def test_after_submission_the_section_is_locked_and_read_only(app, signed_in, world):
    client = signed_in("csp_manager")
    editor = Editor(client, world)
    editor.open()
    set_status(app, world, ContributionStatus.SUBMITTED)

    # A save that arrives after the contribution was submitted keeps the text on the page.
    response = editor.send("Typed before it was submitted.")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This contribution was submitted, so it cannot be changed" in body
    assert ">Typed before it was submitted.</textarea>" in body
    assert response_row(app, world) is None

    # Opening the section now shows it read-only.
    response = client.get(section_url(world))
    assert response.status_code == 302
    assert response.headers["Location"] == section_url(world, "/view")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This contribution was submitted, so it cannot be changed" in page
    assert 'name="text"' not in page and "Change this section" not in page

    with app.app_context(), pytest.raises(ServiceError):
        save_section(
            db.session.get(User, world.users["csp_manager"]),
            db.session.get(Contribution, world.contribution_a1),
            db.session.get(SectionTemplate, world.section_a),
            "x",
            0,
            completed=False,
        )


def test_a_contribution_sent_back_for_changes_can_be_edited_again(app, signed_in, world):
    set_status(app, world, ContributionStatus.CHANGES_REQUESTED)
    client = signed_in("csp_manager")
    assert save(client, world, "Changed as asked.").status_code == 302


@pytest.mark.parametrize("who", ["lead_admin", "lead_staff", "viewer"])
def test_lead_bidder_users_read_the_section_but_cannot_change_it(app, signed_in, world, who):
    save(signed_in("csp_manager"), world, "Reading's local need.\n\n- one\n- two")
    client = signed_in(who)

    response = client.get(section_url(world))
    assert response.status_code == 302
    assert response.headers["Location"] == section_url(world, "/view")
    page = client.get(section_url(world, "/view"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Reading&#39;s local need." in body
    assert '<ul class="govuk-list govuk-list--bullet"><li>one</li><li>two</li></ul>' in body
    assert 'name="text"' not in body and "Change this section" not in body
    assert "See the history of this section" in body
    assert client.post(section_url(world), data={"text": "x", "version": "1"}).status_code == 403
    assert client.get(section_url(world, "/history")).status_code == 200


def test_csp_users_see_a_change_link_on_the_read_only_page(signed_in, world):
    body = signed_in("csp_contributor").get(section_url(world, "/view")).get_data(as_text=True)
    assert "Change this section" in body and "Nothing has been written for this section yet." in body


@pytest.mark.parametrize("suffix", ["", "/view", "/history"])
def test_another_csp_and_another_lead_bidder_get_404(signed_in, world, suffix):
    for who in ("other_csp_manager", "other_lead_admin", "other_lead_csp_manager"):
        client = signed_in(who)
        assert client.get(section_url(world, suffix)).status_code == 404, who


def test_another_csp_cannot_save_into_our_section(app, signed_in, world):
    client = signed_in("other_csp_manager")
    token = CSRF_RE.search(client.get(section_url(world, contribution_id=world.contribution_a2)).get_data(as_text=True))
    response = client.post(section_url(world), data={"text": "x", "version": "0", "csrf_token": token.group(1), **SAVE})
    assert response.status_code == 404
    assert response_row(app, world) is None


# --- showing text safely ------------------------------------------------------------------------


def test_html_in_the_text_is_shown_as_text(app, signed_in, world):
    client = signed_in("csp_manager")
    save(client, world, '<script>alert("x")</script>\n\n- <b>bold</b>\n\n<a href="javascript:x">link</a>')
    for path in ("/view", "/history/1"):
        body = client.get(section_url(world, path)).get_data(as_text=True)
        assert '<script>alert("x")</script>' not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
        assert "<li>&lt;b&gt;bold&lt;/b&gt;</li>" in body
        assert '<a href="javascript:x">' not in body
    assert response_row(app, world).text.startswith("<script>")  # stored as typed


def test_render_text_makes_paragraphs_and_lists():
    text = "First line\nsecond line\n\n- apples\n* pears\n\n1. one\n2. two\n\n3) three\n\nThe end & <more>"
    assert render_text(text) == (
        '<p class="govuk-body">First line<br>second line</p>\n'
        '<ul class="govuk-list govuk-list--bullet"><li>apples</li><li>pears</li></ul>\n'
        '<ol class="govuk-list govuk-list--number"><li>one</li><li>two</li></ol>\n'
        '<ol class="govuk-list govuk-list--number" start="3"><li>three</li></ol>\n'
        '<p class="govuk-body">The end &amp; &lt;more&gt;</p>'
    )
    assert render_text("") == "" and render_text(None) == ""
    assert render_text("-not a bullet\n2018. Not a list") == (
        '<p class="govuk-body">-not a bullet<br>2018. Not a list</p>'
    )


# --- history and diffs ---------------------------------------------------------------------------


def _three_revisions(signed_in, world):
    client = signed_in("csp_manager")
    save(client, world, "Knife crime rose in Reading.\n\nWe will work with schools.")
    save(signed_in("csp_contributor"), world, "Knife crime rose by 20% in Reading.\n\nWe will work with schools.")
    save(client, world, "Knife crime rose by 20% in Reading.\n\nWe will work with three schools.", COMPLETE)
    return client


def test_history_lists_every_revision_newest_first(app, signed_in, world):
    client = _three_revisions(signed_in, world)
    response = client.get(section_url(world, "/history"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    rows = re.findall(r'<th scope="row" class="govuk-table__header">(\d+)</th>', body)
    assert rows == ["3", "2", "1"]
    with app.app_context():
        names = {k: db.session.get(User, world.users[k]).full_name for k in ("csp_manager", "csp_contributor")}
    table = body[body.index("<tbody") :]
    assert table.index(names["csp_manager"]) < table.index(names["csp_contributor"])
    assert "Completed" in table and "In progress" in table
    assert ">What changed<span class=\"govuk-visually-hidden\"> in revision 3</span>" in body
    # The compare form starts on the latest two.
    assert re.search(r'<option value="2" selected>', body) and re.search(r'<option value="3" selected>', body)


def test_history_before_any_save(signed_in, world):
    body = signed_in("viewer").get(section_url(world, "/history")).get_data(as_text=True)
    assert "This section has not been saved yet." in body


def test_choosing_two_revisions_shows_the_differences(app, signed_in, world):
    client = _three_revisions(signed_in, world)

    response = client.get(section_url(world, "/history?older=3&newer=1"))
    assert response.status_code == 302
    assert response.headers["Location"] == section_url(world, "/compare?older=1&newer=3")

    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Changes from revision 1 to revision 3" in body
    diff = body[body.index('<div class="pb-diff">') :]
    diff = diff[: diff.index("</div>")]
    assert (
        'Knife crime rose <ins class="pb-diff__ins"><span class="govuk-visually-hidden">added text: </span>by 20%'
        '<span class="govuk-visually-hidden"> (end of added text)</span></ins> in Reading.'
    ) in diff
    assert 'with <ins class="pb-diff__ins"><span class="govuk-visually-hidden">added text: </span>three' in diff
    assert "3 words added and 0 words removed" in body


def test_comparing_the_same_revision_twice_is_an_error(signed_in, world):
    client = _three_revisions(signed_in, world)
    response = client.get(section_url(world, "/history?older=2&newer=2"))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "There is a problem" in body and "Select two different revisions to compare" in body
    response = client.get(section_url(world, "/history?older=abc&newer=9"))
    assert response.status_code == 400
    assert "Select the first revision to compare" in response.get_data(as_text=True)


def test_a_revision_page_shows_that_revision(signed_in, world):
    client = _three_revisions(signed_in, world)
    body = client.get(section_url(world, "/history/1")).get_data(as_text=True)
    assert "Revision 1" in body and "Knife crime rose in Reading." in body
    assert "Compare with the latest revision (3)" in body
    assert client.get(section_url(world, "/history/4")).status_code == 404
    assert client.get(section_url(world, "/compare?older=1&newer=9")).status_code == 404
    assert client.get(section_url(world, "/compare")).status_code == 404


def test_diff_texts_marks_words_in_words_not_colour_alone():
    diff = diff_texts("We will help 40 young people.", "We will help 60 young people <now>.")
    assert diff.words_added == 3 and diff.words_removed == 2
    text = html.unescape(re.sub(r"<[^>]+>", "", str(diff.html)))
    assert text == (
        "We will help removed text: 40 (end of removed text)added text: 60 (end of added text) young "
        "removed text: people. (end of removed text)added text: people <now>. (end of added text)"
    )
    assert "&lt;now&gt;" in diff.html


def test_diff_texts_keeps_paragraphs_and_ignores_spacing_alone():
    diff = diff_texts("One.\n\nTwo.", "One.\nTwo.")
    assert not diff.changed
    assert diff.html == "One.\nTwo."
    removed = diff_texts("Keep this.\n\nDrop this paragraph.\n\nKeep that.", "Keep this.\n\nKeep that.")
    assert removed.words_removed == 3 and removed.words_added == 0
    assert "<del" in removed.html and "\n\nKeep that." in removed.html


def test_a_save_with_an_expired_form_token_keeps_the_text(app, signed_in, world):
    """A signed-in save whose form token has expired comes back with the text (BaseForm)."""
    client = signed_in("csp_manager")
    response = post_form(client, section_url(world), {"text": "Kept", "version": "0", **SAVE})
    assert response.status_code == 302  # a good token saves
    response = client.post(section_url(world), data={"text": "Typed late", "version": "1", "csrf_token": "stale"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This page timed out for your security" in body and ">Typed late</textarea>" in body
