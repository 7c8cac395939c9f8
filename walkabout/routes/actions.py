"""Actions: the filtered list, one action's page and the changes owners and
executives make on it (progress, due date, complete, verify, reopen)."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from ..auth import roles_required, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.actions import CompleteForm, DueDateForm, ProgressForm, ReopenForm, VerifyForm
from ..models import Action, Role
from ..services import Conflict, Forbidden, NotFound, ServiceError, action_queries, actions
from ..services.photos import process_upload
from ..timeutil import local_today

bp = Blueprint("actions", __name__)
readers = roles_required(Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY, Role.ADMIN)
workers = roles_required(Role.EXECUTIVE, Role.WARD_MANAGER)
executives = roles_required(Role.EXECUTIVE)
NOT_YOUR_WARD = "This action belongs to a ward you do not manage and is not assigned to you."
FORMS = {
    "progress": ProgressForm,
    "due": DueDateForm,
    "complete": CompleteForm,
    "verify": VerifyForm,
    "reopen": ReopenForm,
}


def refuse(status: int, message: str):
    """Stop the request with the error page (or fragment) carrying `message`."""
    abort(make_response(render_error(status, message)))


def is_fragment_request() -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def load_visible(action_id: int, work: bool = False) -> Action:
    session, user = get_session(), signed_in_user()
    try:
        action = action_queries.load_action(session, action_id)
    except NotFound:
        abort(404)
    if not actions.can_view(session, user, action):
        refuse(403, NOT_YOUR_WARD)
    if work and not actions.can_work(session, user, action):
        refuse(403, "You can read this action but not change it.")
    return action


@bp.get("/actions")
@readers
def index():
    session, user, today = get_session(), signed_in_user(), local_today()
    filters = action_queries.ActionFilters.from_args(request.args)
    result = action_queries.list_actions(
        session, user, filters, today, per_page=current_app.config["ACTIONS_PER_PAGE"]
    )
    context = {"result": result, "filters": filters, "today": today, "status_labels": actions.STATUS_LABELS}
    if is_fragment_request():
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


def render_action(action: Action, status: int = 200, **bound):
    """The action page; `bound` holds a submitted form to show with its errors."""
    session, user = get_session(), signed_in_user()
    forms = {
        name: bound.get(name) or form_class(formdata=None, prefix=name, data={"version": action.version})
        for name, form_class in FORMS.items()
    }
    page = render_template(
        "actions/show.html",
        action=action,
        forms=forms,
        today=local_today(),
        timeline=action_queries.timeline(session, action),
        concern_photos=action_queries.concern_photo_ids(session, action.concern_id),
        can_work=actions.can_work(session, user, action),
        can_verify=actions.can_verify(user),
        can_assign=actions.can_assign(session, user, action.concern),
        status_labels=actions.STATUS_LABELS,
        transitions=actions.TRANSITIONS,
    )
    return page, status


@bp.get("/actions/<int:action_id>")
@readers
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
            change(session, user, action, form)
        except Forbidden as error:
            session.rollback()
            refuse(403, str(error))
        except Conflict as error:
            session.rollback()
            status = 409
            form.form_errors.append(str(error))
        except ServiceError as error:
            session.rollback()
            form.form_errors.append(str(error))
        else:
            session.commit()
            flash(done_message, "success")
            return redirect(url_for("actions.show", action_id=action.id) + "#timeline", code=303)
    action = action_queries.load_action(session, action_id)
    if status == 409:  # the user has now seen the latest version
        form.version.data = action.version
        form.version.raw_data = [str(action.version)]
    return render_action(action, status, **{name: form})


@bp.post("/actions/<int:action_id>/updates")
@workers
def post_update(action_id: int):
    return apply_change(
        action_id,
        "progress",
        lambda session, user, action, form: actions.post_update(session, user, action, form.text.data),
        "Update posted.",
    )


@bp.post("/actions/<int:action_id>/due-date")
@workers
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
@workers
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


from . import action_assign  # noqa: E402, F401  (the assign routes live on this blueprint)
