"""The action list and page, and the changes on an action (progress, due date,
complete, verify, reopen): routes of the `actions` blueprint."""

from flask import current_app, render_template, request, url_for

from ...auth import any_role, executives, executives_and_managers, signed_in_user
from ...db import get_session
from ...services import Conflict, Forbidden, ServiceError, action_queries, actions
from ...services.photos import process_upload
from ...timeutil import local_today
from ...urls import wants_fragment
from ..helpers import commit_and_redirect, refuse
from . import FORMS, bp, load_visible, render_action


@bp.get("/actions")
@any_role
def index():
    session, user, today = get_session(), signed_in_user(), local_today()
    filters = action_queries.ActionFilters.from_args(request.args)
    result = action_queries.list_actions(
        session, user, filters, today, per_page=current_app.config["ACTIONS_PER_PAGE"]
    )
    context = {"result": result, "filters": filters, "today": today, "status_labels": actions.STATUS_LABELS}
    if wants_fragment():
        return render_template("actions/_results.html", **context)
    wards, sites, owners = action_queries.filter_choices(session, user)
    return render_template(
        "actions/index.html",
        wards=wards,
        sites=sites,
        owners=owners,
        sorts=action_queries.SORTS,
        status_filters=action_queries.STATUS_FILTERS,
        **context,
    )


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
