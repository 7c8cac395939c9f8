"""Single sign-on with the trust's identity provider (OpenID Connect)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import signin, sso
from ..db import get_session
from ..forms.auth import LoginForm
from ..services import identities
from ..urls import safe_next_url
from .auth import start_session

bp = Blueprint("sso", __name__, url_prefix="/login/sso")
NEXT = "sso_next"


def _refused(message: str, status: int):
    flash(message, "error")
    form = LoginForm(formdata=None)
    return render_template("auth/login.html", form=form, sso_enabled=True, show_password=False), status


@bp.get("")
def start():
    """Off to the identity provider's sign-in page."""
    if not sso.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    cookie_session[NEXT] = safe_next_url(request.args.get("next"))
    try:
        return sso.start()
    except sso.ProviderFailed as error:
        return _refused(str(error), 502)


@bp.get("/callback")
def callback():
    """The provider sends the browser back here with a code: verify, link, sign in."""
    if not sso.enabled():
        abort(404)
    next_url = cookie_session.get(NEXT)
    try:
        claims = sso.finish()
        user = identities.user_for(get_session(), claims, sso.link_policy())
        start_session(user, remember=False)
    except sso.ProviderFailed as error:
        return _refused(str(error), 400)
    except identities.SignInRefused as error:
        get_session().rollback()
        return _refused(str(error), 403)
    except IntegrityError:  # the same first sign-in, twice at once: the other one linked it
        get_session().rollback()
        return _refused("You were signing in twice at once. Sign in again.", 409)
    cookie_session[signin.SINGLE_SIGN_ON] = True
    return redirect(safe_next_url(next_url), code=303)
