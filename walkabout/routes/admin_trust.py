"""Admin: the trust's name and logo, and the words of the risk matrix."""

from flask import Blueprint, current_app, render_template, request, url_for

from .. import rules
from ..auth import admins, signed_in_user
from ..db import get_session
from ..forms.admin_lists import LogoForm, RemoveLogoForm, RiskLabelsForm, TrustNameForm
from ..services import Conflict, ServiceError, branding
from .helpers import commit_and_redirect

bp = Blueprint("admin_trust", __name__, url_prefix="/admin/trust")


def render_settings(message: str | None = None, where: str | None = None, status: int = 200, forms=None):
    """The settings page; `message` is shown beside the form `where` ("name", "logo", "risk")."""
    session = get_session()
    row = branding.branding_row(session)
    forms = dict(forms or {})
    if "name" not in forms:
        forms["name"] = TrustNameForm(formdata=None, name=row.name, version=row.version)
    labels = branding.risk_labels(session)
    if "risk" not in forms:
        data = {f"{axis}_{level}": word for axis, words in labels.items() for level, word in words.items()}
        forms["risk"] = RiskLabelsForm(formdata=None, version=row.version, **data)
    return render_template(
        "admin/trust.html",
        row=row,
        default_name=current_app.config["TRUST_NAME"],
        name_form=forms["name"],
        logo_form=LogoForm(formdata=None, version=row.version),
        remove_form=RemoveLogoForm(formdata=None, version=row.version),
        risk_form=forms["risk"],
        labels=labels,
        message=message,
        where=where,
        logo_limit=rules.LOGO_LIMIT_LABEL,
    ), status


@bp.get("")
@admins
def settings():
    return render_settings()


def _save(where: str, change, done: str, form=None):
    try:
        return commit_and_redirect(change, done, url_for("admin_trust.settings", _anchor=f"{where}-settings"))
    except ServiceError as error:
        status = 409 if isinstance(error, Conflict) else 400
        forms = {where: form} if form is not None and status != 409 else {}
        return render_settings(str(error), where, status, forms)


@bp.post("/name")
@admins
def save_name():
    form = TrustNameForm()
    if not form.validate_on_submit():
        return render_settings(" ".join(form.name.errors) or "Check the name.", "name", 400, {"name": form})
    return _save(
        "name",
        lambda: branding.save_name(get_session(), signed_in_user(), form.name.data, form.version.data),
        "Saved the trust's name.",
        form,
    )


@bp.post("/logo")
@admins
def upload_logo():
    form = LogoForm()
    form.validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    upload = request.files.get("logo")
    raw = upload.stream.read(rules.MAX_LOGO_BYTES + 1) if upload is not None and upload.filename else None
    return _save(
        "logo",
        lambda: branding.save_logo(get_session(), signed_in_user(), raw, form.version.data),
        "Saved the logo: it now shows in the header, on PDFs and in emails.",
    )


@bp.post("/logo/remove")
@admins
def remove_logo():
    form = RemoveLogoForm()
    form.validate_on_submit()
    return _save(
        "logo",
        lambda: branding.remove_logo(get_session(), signed_in_user(), form.version.data),
        "Removed the logo.",
    )


@bp.post("/risk-labels")
@admins
def save_risk_labels():
    form = RiskLabelsForm()
    if not form.validate_on_submit():
        errors = [error for field in form for error in field.errors]
        return render_settings(errors[0] if errors else "Check the words.", "risk", 400, {"risk": form})
    return _save(
        "risk",
        lambda: branding.save_risk_labels(get_session(), signed_in_user(), form.labels(), form.version.data),
        "Saved the risk-matrix words.",
        form,
    )
