from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import ForgotPasswordForm, SetPasswordForm, SignInForm, TwoFactorCodeForm
from app.auth.redirects import safe_next
from app.extensions import db, limiter
from app.forms import ActionForm
from app.models import TokenPurpose
from app.services import ServiceError, throttle, two_factor
from app.services.accounts import (
    accept_invitation as accept_invitation_service,
)
from app.services.accounts import (
    authenticate,
    normalise_email,
    request_password_reset,
    usable_token,
)
from app.services.accounts import (
    reset_password as reset_password_service,
)
from app.services.audit import record
from app.services.sessions import end_session, start_session
from app.tenancy import unscoped_view

# The browser's half-finished sign-in (the password was right, the code is awaited): a single-use
# token (only its hash is stored), never a session until the code is right.
PENDING_KEY = "pending_sign_in"


def _failed(response) -> bool:
    """Only failures count against an address (Flask-Limiter's deduct_when): a sign-in that worked
    is a redirect, and uses nothing up."""
    return response.status_code not in (302, 303)


def _ip_limit():
    return limiter.limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_IP"], methods=["POST"], scope="sign-in-ip", deduct_when=_failed
    )


def _wait_message(seconds: int) -> str:
    return f"Too many attempts from here. Wait {seconds} second{'s' if seconds != 1 else ''}, then try again"


def _begin_two_factor(user) -> None:
    """The password is right; the browser may now give the code (a fresh session, not signed in)."""
    token = two_factor.begin_sign_in(user)
    session.clear()
    session[PENDING_KEY] = token


def _sign_in(user) -> None:
    """Start a fresh session: nothing from before sign-in survives (no session fixation)."""
    session.clear()
    start_session(user, request.headers.get("User-Agent"))
    login_user(user)


@bp.route("/sign-in", methods=["GET", "POST"])
@_ip_limit()
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        wait = throttle.wait_seconds(throttle.SIGN_IN, form.email.data, request.remote_addr)
        user = None if wait else authenticate(form.email.data, form.password.data)
        next_url = safe_next(request.args.get("next"))
        if user is not None and user.has_two_factor:
            _begin_two_factor(user)
            db.session.commit()
            return redirect(url_for("auth.two_factor_code", next=next_url))
        if user is not None:
            _sign_in(user)
            record(user, "user.signed_in", user, f"{user.full_name} signed in")
            db.session.commit()
            return redirect(next_url or url_for("main.home"))
        if wait:
            form.add_error("password", _wait_message(wait))
            status = 429
        else:
            throttle.failed(throttle.SIGN_IN, form.email.data, request.remote_addr)
            db.session.commit()
            form.add_error("email", "Enter a correct email address and password")
            form.password.errors = ["Enter a correct email address and password"]
    return render_template("auth/sign_in.html", title="Sign in", form=form), (
        status if status != 200 else (400 if form.errors else 200)
    )


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@_ip_limit()
def two_factor_code():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    token = session.get(PENDING_KEY)
    user = two_factor.pending_user(token)
    if user is None:
        return render_template("auth/sign_in_timed_out.html", title="Sign in again")
    form = TwoFactorCodeForm()
    status = 200
    if form.validate_on_submit():
        wait = throttle.wait_seconds(throttle.TWO_FACTOR, user.email, request.remote_addr)
        if wait:
            form.add_error("code", _wait_message(wait))
            status = 429
        else:
            try:
                two_factor.finish_sign_in(token, form.code.data)
            except ServiceError as exc:
                db.session.rollback()
                throttle.failed(throttle.TWO_FACTOR, user.email, request.remote_addr)
                db.session.commit()
                form.add_error(exc.field or "code", exc.message)
            else:
                _sign_in(user)
                db.session.commit()
                return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/two_factor_code.html", title="Enter your security code", form=form), (
        status if status != 200 else (400 if form.errors else 200)
    )


@bp.post("/sign-out")
def sign_out():
    form = ActionForm()
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    if not form.validate_on_submit():
        # An old page's button: ask again rather than ignore it.
        return render_template("auth/sign_out.html", title="Sign out", form=ActionForm(formdata=None))
    user = current_user._get_current_object()
    end_session(user.get_id())
    record(user, "user.signed_out", user, f"{user.full_name} signed out")
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@unscoped_view  # about the link's owner, not whoever is signed in on this browser
def accept_invitation(token: str):
    row = usable_token(token, TokenPurpose.INVITATION)
    if row is None:
        return render_template("auth/link_expired.html", title="This invitation link has expired", invitation=True)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accept_invitation_service(token, form.password.data)
        except ServiceError as exc:
            form.add_error(exc.field or "password", exc.message)
        else:
            _sign_in(user)
            db.session.commit()
            flash("Your account is ready. You are now signed in", "success")
            return redirect(url_for("main.home"))
    return render_template(
        "auth/accept_invitation.html", title="Set your password", form=form, invited=row.user
    ), (400 if form.errors else 200)


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_IP"], methods=["POST"], scope="reset-ip")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        db.session.commit()
        session["reset_email"] = normalise_email(form.email.data)
        return redirect(url_for("auth.check_email"))
    return render_template("auth/forgot_password.html", title="Reset your password", form=form), (
        400 if form.errors else 200
    )


@bp.get("/password-reset/check-your-email")
def check_email():
    return render_template("auth/check_email.html", title="Check your email", email=session.get("reset_email"))


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@unscoped_view  # about the link's owner, not whoever is signed in on this browser
def reset_password(token: str):
    row = usable_token(token, TokenPurpose.PASSWORD_RESET)
    if row is None:
        return render_template("auth/link_expired.html", title="This password reset link has expired", invitation=False)
    form = SetPasswordForm()
    form.password.label.text = "New password"
    form.submit.label.text = "Reset password"
    if form.validate_on_submit():
        try:
            user = reset_password_service(token, form.password.data)
        except ServiceError as exc:
            form.add_error(exc.field or "password", exc.message)
        else:
            if user.has_two_factor:
                # The emailed link stands for the password only: the second factor is still asked.
                _begin_two_factor(user)
                db.session.commit()
                flash("Your password has been reset. Enter your security code to sign in", "success")
                return redirect(url_for("auth.two_factor_code"))
            _sign_in(user)
            db.session.commit()
            flash("Your password has been reset. You are now signed in", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/reset_password.html", title="Create a new password", form=form), (
        400 if form.errors else 200
    )
