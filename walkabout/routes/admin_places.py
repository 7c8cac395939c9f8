"""Admin: sites and wards (managers, active). Deactivated, never deleted."""

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy.orm import selectinload
from sqlmodel import select

from ..auth import admins, signed_in_user
from ..db import get_session
from ..forms.places import SiteForm, WardForm
from ..forms.walkabouts import as_choices
from ..models import Site, Ward
from ..services import ServiceError, places
from ..templating import person_label
from ..urls import arg_int
from .helpers import commit_and_redirect

bp = Blueprint("admin_places", __name__, url_prefix="/admin")


@bp.get("/sites")
@admins
def sites():
    session = get_session()
    return render_template(
        "admin/sites.html",
        sites=places.sites(session),
        counts=places.ward_counts(session),
        form=SiteForm(formdata=None),
    )


@bp.route("/sites/new", methods=["POST"])
@admins
def new_site():
    return _save_site(None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@admins
def edit_site(site_id: int):
    site = get_session().get(Site, site_id)
    if site is None:
        abort(404)
    return _save_site(site)


def _save_site(site: Site | None):
    session = get_session()
    form = SiteForm(obj=site if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                return commit_and_redirect(
                    lambda: places.save_site(
                        session, signed_in_user(), site, name=form.name.data, active=form.active.data
                    ),
                    lambda saved: f"Saved {saved.name}.",
                    url_for("admin_places.sites"),
                )
            except ServiceError as error:
                form.name.errors.append(str(error))
        status = 400
    return render_template("admin/site_form.html", form=form, site=site), status


@bp.get("/wards")
@admins
def wards():
    session = get_session()
    site_id = arg_int("site")
    return render_template(
        "admin/wards.html",
        wards=places.wards(session, site_id=site_id),
        sites=places.sites(session),
        site_id=site_id,
    )


@bp.route("/wards/new", methods=["GET", "POST"])
@admins
def new_ward():
    return _save_ward(None)


@bp.route("/wards/<int:ward_id>", methods=["GET", "POST"])
@admins
def edit_ward(ward_id: int):
    ward = (
        get_session()
        .exec(
            select(Ward)
            .where(Ward.id == ward_id)
            .options(selectinload(Ward.managers), selectinload(Ward.site))
        )
        .first()
    )
    if ward is None:
        abort(404)
    return _save_ward(ward)


def _save_ward(ward: Ward | None):
    session = get_session()
    form = WardForm()
    form.site_id.choices = as_choices(
        [("", "Choose a site")]
        + [(site.id, site.name + ("" if site.active else " (deactivated)")) for site in places.sites(session)]
    )
    form.manager_ids.choices = as_choices(
        (user.id, person_label(user.name, user.job_title)) for user in places.manager_candidates(session)
    )
    status = 200
    if request.method == "GET":
        if ward is not None:
            form.process(
                data={
                    "name": ward.name,
                    "site_id": ward.site_id,
                    "specialty": ward.specialty,
                    "active": ward.active,
                    "manager_ids": [user.id for user in ward.managers],
                }
            )
        else:
            form.site_id.data = arg_int("site")
    elif form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: places.save_ward(
                    session,
                    signed_in_user(),
                    ward,
                    name=form.name.data,
                    site_id=form.site_id.data,
                    specialty=form.specialty.data,
                    manager_ids=[i for i in form.manager_ids.data or [] if i is not None],
                    active=form.active.data,
                ),
                lambda saved: f"Saved {saved.name}.",
                url_for("admin_places.wards"),
            )
        except ServiceError as error:
            form.form_errors.append(str(error))
            status = 400
    else:
        status = 400
    return render_template("admin/ward_form.html", form=form, ward=ward), status
