from flask import redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.extensions import db
from app.main import bp
from app.models import Contribution, Organisation, OrganisationKind, Round, RoundStatus, User
from app.services.contributions import still_to_do
from app.services.progress import counts_by_round


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.sign_in"))


@bp.get("/home")
@login_required
def home():
    if current_user.is_lead:
        lead_id = current_user.lead_bidder_id
        summary = {
            "csps": db.session.scalar(
                select(func.count()).where(
                    Organisation.lead_bidder_id == lead_id,
                    Organisation.kind == OrganisationKind.CSP,
                    Organisation.active.is_(True),
                )
            ),
            "users": db.session.scalar(
                select(func.count()).where(User.lead_bidder_id == lead_id, User.active.is_(True))
            ),
            "invited": db.session.scalar(
                select(func.count()).where(
                    User.lead_bidder_id == lead_id, User.active.is_(True), User.password_hash.is_(None)
                )
            ),
        }
        rounds = db.session.scalars(
            select(Round).where(Round.lead_bidder_id == lead_id).order_by(Round.internal_deadline.desc())
        ).all()
        counts = counts_by_round(r.id for r in rounds)
        return render_template("main/home.html", title="Home", summary=summary, rounds=rounds, counts=counts)
    contributions = db.session.scalars(
        select(Contribution)
        .join(Round)
        .where(Contribution.csp_id == current_user.organisation_id, Round.status != RoundStatus.DRAFT)
        .order_by(Round.internal_deadline.desc())
    ).all()
    todo = {c.id: still_to_do(c) for c in contributions}
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
    db.session.execute(select(1))
    return {"status": "ok"}
