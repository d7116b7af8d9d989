from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from app import drafts
from app.extensions import csrf, db, limiter
from app.forms import ActionForm
from app.main import bp
from app.policy import can, rule_required
from app.services import contributions as contributions_service
from app.services import organisations, sessions
from app.services import rounds as rounds_service
from app.services.pages import page_size
from app.services.progress import counts_by_round


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.sign_in"))


@bp.get("/home")
@login_required
def home():
    if can(current_user, "round.view"):
        # The latest rounds; the round list has them all.
        rounds, more_rounds = rounds_service.latest_for(current_user, page_size("cards"))
        return render_template(
            "main/home.html",
            title="Home",
            summary=organisations.summary_for(current_user),
            rounds=rounds,
            more_rounds=more_rounds,
            counts=counts_by_round(r.id for r in rounds),
        )
    contributions = contributions_service.page_for(current_user, request.args.get("page"))
    todo = contributions_service.still_to_do_for(contributions.items)
    return render_template("main/home.html", title="Home", contributions=contributions, todo=todo)


@bp.get("/accessibility")
def accessibility():
    return render_template("main/accessibility.html", title="Accessibility statement")


@bp.get("/privacy")
def privacy():
    return render_template("main/privacy.html", title="Privacy notice")


@bp.get("/help")
def help():
    return render_template("main/help.html", title="Help and contact")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Alive: the process answers (no dependency is asked; /readyz asks them)."""
    return {"status": "ok"}


def _back_to(value: str | None) -> str:
    """A page of this service to go back to: a local path only, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("main.home")


@bp.post("/session/stay-signed-in")
@csrf.exempt  # checked below, allowing a token as old as the session may be (see the docstring)
@rule_required("account.stay_signed_in")
def stay_signed_in():
    """The time-out warning's "Stay signed in" (static/js/timeout-warning.mjs posts it with its
    security token; without JavaScript there is no warning, and any page view keeps the session).

    The warning opens near the end of the idle limit, when the page's token may be older than
    WTF_CSRF_TIME_LIMIT (half a session), so the token is checked here with the session's idle
    limit as its age limit; the answer carries a fresh token for the page's forms."""
    idle_seconds = current_app.config["SESSION_IDLE_MINUTES"] * 60
    try:
        validate_csrf(request.form.get("csrf_token"), time_limit=idle_seconds)
    except ValidationError:
        return jsonify(error="This page timed out for your security"), 400
    seconds = sessions.stay_signed_in(current_user)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(seconds_left=seconds, csrf_token=generate_csrf())
    return redirect(_back_to(request.form.get("next")))


@bp.post("/kept/discard")
@rule_required("account.discard_draft")
def discard_draft():
    """The kept-draft banner's "Discard": the form kept when a session ended is deleted."""
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("main.home"))
    path = drafts.discard(current_user, request.form.get("draft"))
    db.session.commit()
    if path:
        flash("What was kept for you has been discarded", "success")
    return redirect(_back_to(path))
