"""Assigning actions from a concern, the one-tap ward fix, and "no action needed"
(routes of the `actions` blueprint)."""

from flask import abort, current_app, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from ...auth import executives, executives_and_managers, signed_in_user
from ...db import get_session
from ...forms.actions import AssignForm, NoActionForm
from ...forms.version import parse_version
from ...models import Concern, Role
from ...services import Conflict, NotFound, ServiceError, action_queries, actions
from ...templating import person_label
from ...timeutil import format_date, local_today
from ..helpers import commit_and_redirect, refuse
from . import bp

OTHER_WARD = "This concern is on a ward you do not manage."


def load_assignable(concern_id: int) -> Concern:
    session = get_session()
    try:
        concern = action_queries.load_concern(session, concern_id)
    except NotFound:
        abort(404)
    if not actions.can_assign(session, signed_in_user(), concern):
        refuse(403, OTHER_WARD)
    return concern


def owner_choices(concern: Concern) -> tuple[list[SelectChoice], list[int]]:
    """Owners for the select, the ward's own managers first; and those managers' ids."""
    session = get_session()
    managers = [user.id for user in actions.ward_managers_of(session, concern.walkabout.ward_id)]
    owners = action_queries.possible_owners(session)
    owners.sort(key=lambda user: (user.id not in managers, user.name))
    labels = []
    for user in owners:
        role = "Executive" if user.has_role(Role.EXECUTIVE) else "Ward manager"
        label = person_label(user.name, user.job_title, role)
        labels.append(SelectChoice(user.id, f"{label} (manages this ward)" if user.id in managers else label))
    return labels, managers


def render_assign(concern: Concern, form: AssignForm, status: int = 200, no_action_form=None):
    session = get_session()
    return render_template(
        "actions/assign.html",
        concern=concern,
        form=form,
        today=local_today(),
        no_action_form=no_action_form
        or NoActionForm(formdata=None, prefix="noaction", data={"version": concern.version}),
        concern_photos=action_queries.concern_photo_ids(session, concern.id),
        ward_managers=actions.ward_managers_of(session, concern.walkabout.ward_id),
        status_labels=actions.STATUS_LABELS,
        can_decide=signed_in_user().has_role(Role.EXECUTIVE),
        live_actions=[a for a in concern.actions if a.deleted_at is None],
    ), status


def show_action_or_another(action) -> str:
    if request.form.get("then") == "another":
        return url_for("actions.assign", concern_id=action.concern_id)
    return url_for("actions.show", action_id=action.id)


@bp.route("/concerns/<int:concern_id>/actions/new", methods=["GET", "POST"])
@executives_and_managers
def assign(concern_id: int):
    concern = load_assignable(concern_id)
    session, user, today = get_session(), signed_in_user(), local_today()
    form = AssignForm()
    form.owner_id.choices, managers = owner_choices(concern)
    if request.method == "GET":
        form.owner_id.data = managers[0] if managers else None
        form.due_date.data = actions.default_due_date(concern, today, current_app.config["ACTION_DUE_DAYS"])
        return render_assign(concern, form)
    if form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: actions.create_action(
                    session,
                    user,
                    concern,
                    description=form.description.data,
                    owner_id=form.owner_id.data,
                    due_date=form.due_date.data,
                    today=today,
                ),
                lambda action: f"Action assigned to {action.owner.name}, due {format_date(action.due_date)}.",
                show_action_or_another,
            )
        except ServiceError as error:
            form.form_errors.append(str(error))
    concern = action_queries.load_concern(session, concern_id)
    return render_assign(concern, form, 400)


@bp.post("/concerns/<int:concern_id>/actions/ward-fix")
@executives_and_managers
def ward_fix(concern_id: int):
    concern = load_assignable(concern_id)
    return commit_and_redirect(
        lambda: actions.assign_to_ward_manager(
            get_session(),
            signed_in_user(),
            concern,
            local_today(),
            current_app.config["ACTION_DUE_DAYS"],
            version=parse_version(request.form.get("version")),
        ),
        lambda action: f"Assigned to {action.owner.name} to fix on the ward.",
        lambda action: back_to_walkabout(concern) or url_for("actions.show", action_id=action.id),
        failed_to=url_for("actions.assign", concern_id=concern_id),
    )


def back_to_walkabout(concern: Concern) -> str | None:
    """The completed walkabout's follow-up list, when the form was sent from there."""
    if request.form.get("back") != "walkabout":
        return None
    return url_for("walkabouts.show", walkabout_id=concern.walkabout_id, _anchor=f"concern-{concern.id}")


@bp.post("/concerns/<int:concern_id>/no-action")
@executives
def no_action(concern_id: int):
    concern = load_assignable(concern_id)
    session = get_session()
    form = NoActionForm(prefix="noaction")
    status = 400
    if form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: actions.mark_no_action_needed(
                    session, signed_in_user(), concern, form.reason.data, form.version.data
                ),
                "Marked: no action needed.",
                back_to_walkabout(concern) or url_for("actions.assign", concern_id=concern_id),
            )
        except ServiceError as error:
            form.form_errors.append(str(error))
            status = 409 if isinstance(error, Conflict) else 400
    concern = action_queries.load_concern(session, concern_id)
    assign_form = AssignForm(formdata=None)
    assign_form.owner_id.choices, _ = owner_choices(concern)
    assign_form.due_date.data = actions.default_due_date(
        concern, local_today(), current_app.config["ACTION_DUE_DAYS"]
    )
    return render_assign(concern, assign_form, status, no_action_form=form)
