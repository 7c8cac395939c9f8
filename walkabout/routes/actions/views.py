"""The action list and page, and the changes on an action (progress, due date,
complete, verify, reopen): routes of the `actions` blueprint."""

from dataclasses import astuple

from flask import current_app, render_template, request, url_for
from markupsafe import Markup

from ...auth import any_role, executives, executives_and_managers, signed_in_user
from ...db import get_session
from ...services import (
    Conflict,
    Forbidden,
    ServiceError,
    action_queries,
    actions,
    data_version,
)
from ...services.access import sees_all_wards
from ...services.photos import process_upload
from ...templating import options
from ...timeutil import local_today
from ...urls import wants_fragment
from ..helpers import commit_and_redirect, kept_fragment, refuse
from . import FORMS, bp, load_visible, render_action


@bp.get("/actions")
@any_role
def index():
    session, user, today = get_session(), signed_in_user(), local_today()
    filters = action_queries.ActionFilters.from_args(request.args)
    results = _results(session, user, filters, today, current_app.config["ACTIONS_PER_PAGE"])
    if wants_fragment():
        return results
    return render_template(
        "actions/index.html",
        results=results,
        filters=filters,
        choices=_filter_options(session, user, filters),
        sorts=action_queries.SORTS,
        status_filters=action_queries.STATUS_FILTERS,
    )


def _results(session, user, filters: action_queries.ActionFilters, today, per_page: int) -> Markup:
    """The count summary, one page of actions and the pager, rendered once per change to the data,
    per filters, day and (for "mine", or a user who does not see every ward) user."""

    def build() -> Markup:
        result = action_queries.list_actions(session, user, filters, today, per_page)
        return Markup(
            render_template(
                "actions/_results.html",
                result=result,
                filters=filters,
                today=today,
                status_labels=actions.STATUS_LABELS,
            )
        )

    own = filters.mine or not sees_all_wards(user)  # else the same list for everyone who sees every ward
    key = ("action_results", user.id if own else None, astuple(filters), today, per_page)
    return kept_fragment(key, build)


def _filter_options(session, user, filters: action_queries.ActionFilters) -> dict:
    """The filter form's ward, site and owner `<option>`s (hundreds on a large trust), rendered
    once per change to the trust's lists (the "choices" data version) and chosen values."""

    def build() -> dict:
        wards, sites, owners = action_queries.filter_choices(session, user)
        return {
            "wards": options(wards, filters.ward, "full_name"),
            "sites": options(sites, filters.site),
            "owners": options(owners, filters.owner),
            "several_sites": len(sites) > 1,
        }

    own = None if sees_all_wards(user) else user.id  # a ward manager's own wards only
    key = ("action_filter_options", own, filters.ward, filters.site, filters.owner)
    return kept_fragment(key, build, scope=data_version.CHOICES)


@bp.get("/actions/<int:action_id>")
@any_role
def show(action_id: int):
    return render_action(load_visible(action_id))


def apply_change(action_id: int, name: str, change, done_message: str):
    """Validate the posted form `name`, run `change(session, user, action, form)`, commit once."""
    action = load_visible(action_id, work=True)
    form = FORMS[name](prefix=name)
    session, user = get_session(), signed_in_user()
    status = 400
    if form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: change(session, user, action, form),
                done_message,
                url_for("actions.show", action_id=action.id) + "#timeline",
            )
        except Forbidden as error:
            refuse(403, str(error))
        except Conflict as error:
            status = 409
            form.form_errors.append(str(error))
        except ServiceError as error:
            form.form_errors.append(str(error))
    action = action_queries.load_action(session, action_id)
    if status == 409:  # the user has now seen the latest version
        form.version.data = action.version
        form.version.raw_data = [str(action.version)]
    return render_action(action, status, **{name: form})


@bp.post("/actions/<int:action_id>/updates")
@executives_and_managers
def post_update(action_id: int):
    return apply_change(
        action_id,
        "progress",
        lambda session, user, action, form: actions.post_update(session, user, action, form.text.data),
        "Update posted.",
    )


@bp.post("/actions/<int:action_id>/due-date")
@executives_and_managers
def change_due_date(action_id: int):
    return apply_change(
        action_id,
        "due",
        lambda session, user, action, form: actions.change_due_date(
            session, user, action, form.due_date.data, form.reason.data, form.version.data, local_today()
        ),
        "Due date changed.",
    )


def _complete(session, user, action, form):
    upload = form.photo.data
    photo = None
    if upload and getattr(upload, "filename", ""):
        photo = process_upload(upload.read())
    actions.complete(session, user, action, form.closure_note.data, form.version.data, photo)


@bp.post("/actions/<int:action_id>/complete")
@executives_and_managers
def complete(action_id: int):
    return apply_change(action_id, "complete", _complete, "Marked completed. An executive will verify it.")


@bp.post("/actions/<int:action_id>/verify")
@executives
def verify(action_id: int):
    return apply_change(
        action_id,
        "verify",
        lambda session, user, action, form: actions.verify(
            session, user, action, form.note.data, form.version.data
        ),
        "Verified and closed.",
    )


@bp.post("/actions/<int:action_id>/reopen")
@executives
def reopen(action_id: int):
    return apply_change(
        action_id,
        "reopen",
        lambda session, user, action, form: actions.reopen(
            session, user, action, form.reason.data, form.version.data
        ),
        "Reopened; the owner can work on it again.",
    )
