from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.main import bp
from app.policy import can
from app.services import contributions as contributions_service
from app.services import health, organisations
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
def healthz():
    health.check_database()
    return {"status": "ok"}
