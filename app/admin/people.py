"""The steps of the pages about people that the lead bidder administrator's user pages
(app/admin/routes.py) and a CSP manager's team pages (app/team/routes.py) share.

Each blueprint loads the person and authorises its own rule, then hands over here with where to go
back to and where to go next. The same services do the work (app/services/accounts.py), and they
require the actor's rule for each verb (app/policy/rules.py PEOPLE_RULES): a lead bidder
administrator's for anyone at their lead bidder, a CSP manager's for their own CSP's team."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template
from flask_login import current_user

from app.extensions import db
from app.forms import ActionForm
from app.models import Organisation, Role, User
from app.policy import NotAllowed
from app.services import ServiceError, accounts

# The organisation a form puts the person in (None: not one of the actor's, said on the form).
OrganisationOf = Callable[[object], Organisation | None]


def _form_page(template: str, title: str, form, **context):
    return render_template(template, title=title, form=form, **context), (400 if form.errors else 200)


def _saved(form, organisation_of: OrganisationOf, step: Callable[[Organisation], object]):
    """On a valid POST: the service's step for the organisation the form puts the person in,
    committed, and what it returned; None when the form or the service (its message then on the
    form) refused."""
    if not form.validate_on_submit():
        return None
    organisation = organisation_of(form)
    if organisation is None:
        form.add_error("organisation", "Select their organisation")
        return None
    try:
        result = step(organisation)
    except NotAllowed:
        raise
    except ServiceError as exc:
        form.add_error(exc.field, exc.message)
        return None
    db.session.commit()
    return result


def invite(form, organisation_of: OrganisationOf, person_url: Callable[[User], str], back_url: str, **context):
    """The invitation form; on a valid POST, the invitation sent and the person's page."""
    person = _saved(form, organisation_of, lambda organisation: accounts.invite_user(
        current_user, form.email.data, form.full_name.data, Role(form.role.data), organisation, form.job_title.data,
    ))
    if person is not None:
        flash(f"Invitation sent to {person.email}", "success")
        return redirect(person_url(person))
    return _form_page("admin/invite_user.html", "Invite someone", form, back_url=back_url, **context)


def change(person: User, form, organisation_of: OrganisationOf, person_url: str):
    """The form to change someone's details (the fields the form has: a CSP manager's has no email
    address); on a valid POST, the change made and their page."""
    email = getattr(form, "email", None)
    changes = _saved(form, organisation_of, lambda organisation: accounts.update_user(
        current_user, person, form.full_name.data, form.job_title.data, Role(form.role.data), organisation,
        email=email.data if email is not None else None,
    ))
    if changes is not None:
        flash(f"{person.full_name}'s details have been updated", "success")
        return redirect(person_url)
    return _form_page("admin/edit_user.html", f"Change {person.full_name}'s details", form, person=person,
                      back_url=person_url)


def deactivate(person: User, person_url: str):
    """The page asking to confirm; on its POST, the account deactivated (and signed out)."""
    form = ActionForm()
    if form.validate_on_submit():
        accounts.deactivate_user(current_user, person)
        db.session.commit()
        flash(f"{person.full_name}'s account has been deactivated and they have been signed out", "success")
        return redirect(person_url)
    return render_template("admin/confirm_deactivate_user.html", title=f"Deactivate {person.full_name}",
                           person=person, form=form, back_url=person_url)


def button(done: Callable[[], None], success: str, person_url: str):
    """A button's POST: the service's step done and committed, or its reason shown."""
    if ActionForm().validate_on_submit():
        try:
            done()
        except NotAllowed:
            raise
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(success, "success")
    return redirect(person_url)


def reactivate(person: User, person_url: str):
    return button(lambda: accounts.reactivate_user(current_user, person),
                   f"{person.full_name}'s account has been reactivated", person_url)


def resend_invitation(person: User, person_url: str):
    return button(lambda: accounts.resend_invitation(current_user, person),
                   f"A new invitation has been sent to {person.email}. Earlier links no longer work", person_url)
