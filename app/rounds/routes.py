from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dates import utc_to_london_parts
from app.extensions import db
from app.forms import ActionForm
from app.models import Round, RoundStatus, SectionTemplate
from app.models.base import utcnow
from app.policy import (
    can,
    get_round_contribution_or_404,
    get_round_or_404,
    get_section_or_404,
    redirect_unless,
    rule_required,
    state_reason,
)
from app.rounds import bp
from app.rounds.forms import (
    MAX_YEARS,
    ExtensionForm,
    NewRoundForm,
    OpenRoundDetailsForm,
    OutcomeForm,
    ReasonForm,
    RoundDetailsForm,
    SectionForm,
    budget_rules_form_class,
    chosen_participants,
    participants_form_class,
)
from app.services import ServiceError, organisations
from app.services import rounds as service
from app.services.round_templates import TEMPLATES


def _status(form) -> int:
    return 400 if form.errors else 200


@bp.get("")
@rule_required("round.view")
def index():
    from app.services.progress import counts_by_round

    rounds = service.page_for(current_user, request.args.get("page"))
    return render_template(
        "rounds/index.html", title="Funding rounds", rounds=rounds, counts=counts_by_round(r.id for r in rounds)
    )


@bp.route("/new", methods=["GET", "POST"])
@rule_required("round.create")
def new():
    form = NewRoundForm()
    earlier = service.list_for(current_user)
    form.set_start_choices(TEMPLATES.values(), earlier)
    if request.method == "GET" and not form.start_from.data:
        form.start_from.data = "template:eiyf-2018"
    if form.validate_on_submit():
        funder_deadline, internal_deadline = form.deadline("funder"), form.deadline("internal")
        if funder_deadline and internal_deadline:
            try:
                rnd = service.create_round(
                    current_user,
                    fund_name=form.fund_name.data,
                    funder=form.funder.data,
                    title=form.title.data,
                    summary=form.summary.data,
                    funder_deadline=funder_deadline,
                    internal_deadline=internal_deadline,
                    start_from=form.start_from.data,
                )
            except ServiceError as exc:
                form.add_error(exc.field, exc.message)
            else:
                db.session.commit()
                if form.start_from.data == "funder-form":
                    flash(f"{rnd.title} has been created. Now upload the funder's application form", "success")
                    return redirect(url_for("rounds.import_form", round_id=rnd.id))
                flash(f"{rnd.title} has been created. Check its template, then choose the CSPs taking part", "success")
                return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template("rounds/new.html", title="Create a funding round", form=form), _status(form)


@bp.get("/<int:round_id>")
@rule_required("round.view")
def show(round_id: int):
    from app.services.progress import count

    rnd = get_round_or_404(current_user, round_id)
    contributions = service.contributions_by_csp(rnd)
    return render_template(
        "rounds/show.html",
        title=rnd.title,
        round=rnd,
        contributions=contributions,
        problems=service.open_problems(rnd, utcnow()) if can(current_user, "round.open", rnd) else [],
        action_form=ActionForm(),
        counts=count(contributions),
        can_change_setup=can(current_user, "round.change_setup", rnd),
        setup_locked=state_reason("round.change_setup", rnd),
    )


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@rule_required("round.change_setup")
def edit(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    # Once the round is open its deadlines are changed on the deadlines page, with a reason.
    setting_up = rnd.status == RoundStatus.DRAFT
    form = (RoundDetailsForm if setting_up else OpenRoundDetailsForm)(obj=rnd)
    if request.method == "GET" and setting_up:
        form.funder_date.data, form.funder_time.data = utc_to_london_parts(rnd.funder_deadline)
        form.internal_date.data, form.internal_time.data = utc_to_london_parts(rnd.internal_deadline)
    if form.validate_on_submit():
        deadlines = {}
        if setting_up:
            deadlines = {"funder_deadline": form.deadline("funder"), "internal_deadline": form.deadline("internal")}
        if all(deadlines.values()):
            try:
                service.update_details(
                    current_user,
                    rnd,
                    fund_name=form.fund_name.data,
                    funder=form.funder.data,
                    title=form.title.data,
                    summary=form.summary.data or "",
                    **deadlines,
                )
            except ServiceError as exc:
                form.add_error(exc.field, exc.message)
            else:
                db.session.commit()
                flash("The round's details have been saved", "success")
                return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template("rounds/edit.html", title=f"Change {rnd.title}", form=form, round=rnd), _status(form)


@bp.route("/<int:round_id>/budget-rules", methods=["GET", "POST"])
@rule_required("round.change_setup")
def budget_rules(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    form_class = budget_rules_form_class()
    if request.method == "GET":
        data = {
            "cap_per_bid": rnd.cap_per_bid_pence,
            "match_percent": rnd.match_percent,
            "match_cash": rnd.match_cash,
            "match_in_kind": rnd.match_in_kind,
            "categories": "\n".join(c.name for c in rnd.cost_categories),
        }
        for n, year in enumerate(rnd.financial_years[:MAX_YEARS], start=1):
            data[f"year_{n}"], data[f"year_{n}_cap"] = year.label, year.cap_pence
        form = form_class(data=data)
    else:
        form = form_class()
    if form.validate_on_submit():
        years = []
        for n in range(1, MAX_YEARS + 1):
            label = getattr(form, f"year_{n}").data
            if label:
                years.append((label, getattr(form, f"year_{n}_cap").data))
        categories = [line.strip() for line in (form.categories.data or "").splitlines() if line.strip()]
        try:
            service.update_budget_rules(
                current_user,
                rnd,
                cap_per_bid_pence=form.cap_per_bid.data,
                match_percent=form.match_percent.data,
                match_cash=form.match_cash.data,
                match_in_kind=form.match_in_kind.data,
                years=years,
                categories=categories,
            )
        except ServiceError as exc:
            form.add_error("year_1" if exc.field == "years" else exc.field, exc.message)
        else:
            db.session.commit()
            flash("The budget rules have been saved", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template(
        "rounds/budget_rules.html", title="Budget rules", form=form, round=rnd, max_years=MAX_YEARS
    ), _status(form)


# --- sections ---------------------------------------------------------------------------------


def _section_values(form: SectionForm) -> dict:
    return {
        "title": form.title.data,
        "guidance": form.guidance.data or "",
        "word_limit": form.word_limit.data,
        "csp_word_limit": form.csp_word_limit.data,
        "required": form.required.data == "yes",
        "csp_contributes": form.csp_contributes.data == "yes",
    }


def _get_section(rnd: Round, section_id: int) -> SectionTemplate:
    return get_section_or_404(current_user, rnd, section_id)


@bp.route("/<int:round_id>/sections/new", methods=["GET", "POST"])
@rule_required("round.change_setup")
def add_section(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    form = SectionForm()
    if request.method == "GET":
        form.required.data, form.csp_contributes.data = "yes", "yes"
    if form.validate_on_submit():
        try:
            section = service.save_section(current_user, rnd, None, **_section_values(form))
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"Section {section.number}, {section.title}, has been added", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="sections"))
    return render_template("rounds/section_form.html", title="Add a section", form=form, round=rnd), _status(form)


@bp.route("/<int:round_id>/sections/<int:section_id>/edit", methods=["GET", "POST"])
@rule_required("round.change_setup")
def edit_section(round_id: int, section_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    section = _get_section(rnd, section_id)
    form = SectionForm(
        data={
            "title": section.title,
            "guidance": section.guidance,
            "word_limit": section.word_limit,
            "csp_word_limit": section.csp_word_limit,
            "required": "yes" if section.required else "no",
            "csp_contributes": "yes" if section.csp_contributes else "no",
        }
    )
    if form.validate_on_submit():
        try:
            service.save_section(current_user, rnd, section, **_section_values(form))
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"Section {section.number}, {section.title}, has been saved", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="sections"))
    return render_template(
        "rounds/section_form.html", title=f"Change section {section.number}", form=form, round=rnd, section=section
    ), _status(form)


@bp.post("/<int:round_id>/sections/<int:section_id>/move")
@rule_required("round.change_setup")
def move_section(round_id: int, section_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    section = _get_section(rnd, section_id)
    form = ActionForm()
    if form.validate_on_submit() and request.form.get("direction") in ("up", "down"):
        service.move_section(current_user, rnd, section, request.form["direction"])
        db.session.commit()
        flash(f"{section.title} is now section {section.number}", "success")
    return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="sections"))


@bp.route("/<int:round_id>/sections/<int:section_id>/delete", methods=["GET", "POST"])
@rule_required("round.change_setup")
def delete_section(round_id: int, section_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_setup")
    section = _get_section(rnd, section_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            service.delete_section(current_user, rnd, section)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(f"The section {section.title} has been removed", "success")
        return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="sections"))
    return render_template(
        "rounds/delete_section.html", title=f"Remove {section.title}", round=rnd, section=section, form=form
    )


# --- participants and opening ---------------------------------------------------------------


@bp.route("/<int:round_id>/participants", methods=["GET", "POST"])
@rule_required("round.change_participants")
def participants(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.change_participants")
    csps = organisations.csps_for(current_user, active_only=True)
    managers = {c.id: service.csp_managers(c) for c in csps}
    form_class = participants_form_class(csps, managers)
    existing = {c.csp_id: c for c in rnd.contributions}
    defaults = {}
    for csp in csps:
        if csp.id in existing:
            defaults[f"take_part_{csp.id}"] = True
            manager = existing[csp.id].manager_id
            defaults[f"manager_{csp.id}"] = str(manager) if manager else ""
        elif len(managers[csp.id]) == 1:
            defaults[f"manager_{csp.id}"] = str(managers[csp.id][0].id)
    form = form_class(data=defaults) if request.method == "GET" else form_class()
    if form.validate_on_submit():
        chosen = chosen_participants(form, csps)
        try:
            service.set_participants(current_user, rnd, chosen)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"{len(chosen)} CSPs are taking part", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="participants"))
    return render_template(
        "rounds/participants.html", title="CSPs taking part", form=form, round=rnd, csps=csps, managers=managers
    ), _status(form)


@bp.route("/<int:round_id>/open", methods=["GET", "POST"])
@rule_required("round.open")
def open_round(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless("round.open", rnd, url_for("rounds.show", round_id=rnd.id))
    if refused:
        return refused
    form = ActionForm()
    problems = service.open_problems(rnd, utcnow())
    if form.validate_on_submit() and not problems:
        service.open_round(current_user, rnd)
        db.session.commit()
        flash(f"{rnd.title} is open. The people of its {len(rnd.contributions)} CSPs have been emailed", "success")
        return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template("rounds/open.html", title=f"Open {rnd.title}", round=rnd, problems=problems, form=form)


@bp.route("/<int:round_id>/contributions/<int:contribution_id>/extension", methods=["GET", "POST"])
@rule_required("round.grant_extension")
def extension(round_id: int, contribution_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.grant_extension")
    contribution = get_round_contribution_or_404(current_user, rnd, contribution_id)
    form = ExtensionForm()
    if request.method == "GET" and contribution.extension_until:
        form.until_date.data, form.until_time.data = utc_to_london_parts(contribution.extension_until)
        form.reason.data = contribution.extension_reason
    if form.validate_on_submit():
        until = form.deadline("until")
        if until:
            try:
                service.grant_extension(current_user, contribution, until, form.reason.data)
            except ServiceError as exc:
                form.add_error(exc.field, exc.message)
            else:
                db.session.commit()
                flash(f"{contribution.csp.name} has an extension and their people have been told", "success")
                return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="participants"))
    return render_template(
        "rounds/extension.html",
        title=f"Extension for {contribution.csp.name}",
        form=form,
        round=rnd,
        contribution=contribution,
    ), _status(form)


# --- the rest of the life cycle: close, reopen, outcome, archive -----------------------------------


@bp.route("/<int:round_id>/close", methods=["GET", "POST"])
@rule_required("round.close")
def close(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless("round.close", rnd, url_for("rounds.show", round_id=rnd.id))
    if refused:
        return refused
    form = ActionForm()
    if form.validate_on_submit():
        try:
            service.close_round(current_user, rnd)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(f"{rnd.title} is closed for contributions. CSPs that had not submitted have been emailed", "success")
        return redirect(url_for("rounds.show", round_id=rnd.id))
    from app.services.progress import count

    return render_template("rounds/close.html", title=f"Close {rnd.title} for contributions", round=rnd, form=form,
                           counts=count(rnd.contributions))


@bp.route("/<int:round_id>/reopen-contributions", methods=["GET", "POST"])
@rule_required("round.reopen_contributions")
def reopen_contributions(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless("round.reopen_contributions", rnd, url_for("rounds.show", round_id=rnd.id))
    if refused:
        return refused
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            service.reopen_contributions(current_user, rnd, form.reason.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"{rnd.title} is open for contributions again", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template(
        "rounds/reopen_contributions.html", title=f"Reopen {rnd.title} for contributions", round=rnd, form=form
    ), _status(form)


@bp.route("/<int:round_id>/outcome", methods=["GET", "POST"])
@rule_required("round.record_outcome")
def outcome(round_id: int):
    from app.models import BidOutcome
    from app.services import signoff

    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless("round.record_outcome", rnd, url_for("rounds.show", round_id=rnd.id))
    if refused:
        return refused
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            signoff.record_outcome(
                current_user,
                rnd,
                BidOutcome(form.outcome.data),
                form.awarded.data,
                form.decided_on.data,
            )
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"The outcome of {rnd.title} has been recorded and the CSPs have been told", "success")
            return redirect(url_for("rounds.show", round_id=rnd.id))
    return render_template("rounds/outcome.html", title=f"Record the outcome of {rnd.title}", round=rnd,
                           form=form), _status(form)


@bp.post("/<int:round_id>/archive")
@rule_required("round.archive")
def archive(round_id: int):
    return _simple_step(round_id, "round.archive", "archive", "{title} has been archived")


@bp.post("/<int:round_id>/restore")
@rule_required("round.restore")
def restore(round_id: int):
    return _simple_step(round_id, "round.restore", "restore", "{title} is back from the archive")


def _simple_step(round_id: int, action: str, verb: str, done: str):
    from app.services import signoff

    rnd = get_round_or_404(current_user, round_id)
    back = url_for("rounds.show", round_id=rnd.id)
    refused = redirect_unless(action, rnd, back)
    if refused:
        return refused
    if ActionForm().validate_on_submit():
        try:
            getattr(signoff, verb)(current_user, rnd)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(done.format(title=rnd.title), "success")
    return redirect(back)
