"""Actions: the filtered list, one action's page, the changes owners and executives
make on it (views.py), and assigning actions from a concern (assign.py).

The blueprint and the helpers its views share live here."""

from flask import Blueprint, abort, render_template

from ...auth import signed_in_user
from ...db import get_session
from ...forms.actions import CompleteForm, DueDateForm, ProgressForm, ReopenForm, VerifyForm
from ...models import Action
from ...services import NotFound, action_queries, actions, staff_voice
from ...timeutil import local_today
from ..helpers import refuse

bp = Blueprint("actions", __name__)
NOT_YOUR_WARD = "This action belongs to a ward you do not manage and is not assigned to you."
FORMS = {
    "progress": ProgressForm,
    "due": DueDateForm,
    "complete": CompleteForm,
    "verify": VerifyForm,
    "reopen": ReopenForm,
}


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
        fix_answers=staff_voice.counts(session, [action.concern_id]).get(action.concern_id),
    )
    return page, status
