"""Forms of the actions area and of "you said, we did"."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from .. import rules
from ..models import FeedbackKind
from ..services.feedback import DELIVERY_METHODS
from .version import VersionField
from .walkabouts import database_id, optional_int

SHOWN_TO_STAFF = 'Ward staff see this on the ward\'s "You said, we did" page: no names or patient details.'


class VersionedForm(FlaskForm):
    """Carries the version the user saw, so a stale (or missing) one is refused as a conflict.

    Several of these share one page, so each gets a prefix (unique field ids);
    the page's single csrf_token input is checked by CSRFProtect for every POST.
    """

    class Meta:
        csrf = False

    version = VersionField()


class AssignForm(FlaskForm):
    description = TextAreaField(
        "What needs doing",
        validators=rules.ACTION_DESCRIPTION.validators(),
        description=SHOWN_TO_STAFF,
    )
    owner_id = SelectField(
        "Owner",
        coerce=database_id,
        validators=[InputRequired("Choose who owns this action.")],
        description="A ward manager (operational lead) or an executive.",
    )
    due_date = DateField(
        "Due date",
        validators=[InputRequired("Give a due date.")],
        description="Set from the risk band; change it if needed.",
    )
    next = HiddenField()


class NoActionForm(VersionedForm):
    reason = TextAreaField(
        "Why no action is needed",
        validators=rules.NO_ACTION_REASON.validators(),
        description=SHOWN_TO_STAFF,
    )


class ProgressForm(FlaskForm):
    """A progress note is append-only, so it carries no version and never conflicts."""

    class Meta:
        csrf = False

    text = TextAreaField("Progress update", validators=rules.PROGRESS_UPDATE.validators())


class DueDateForm(VersionedForm):
    due_date = DateField("New due date", validators=[InputRequired("Give the new due date.")])
    reason = TextAreaField(
        "Reason for the change",
        validators=rules.DUE_DATE_REASON.validators(),
        description="Moving the date later counts as a slip in the board pack.",
    )


class CompleteForm(VersionedForm):
    closure_note = TextAreaField(
        "Closure note: what was done",
        validators=rules.CLOSURE_NOTE.validators(),
        description=SHOWN_TO_STAFF,
    )
    photo = FileField("Evidence photo (optional)")


class VerifyForm(VersionedForm):
    note = TextAreaField("Note (optional)", validators=rules.VERIFY_NOTE.validators(required=False))


class ReopenForm(VersionedForm):
    reason = TextAreaField("Why it is reopened", validators=rules.REOPEN_REASON.validators())


class DeliveryForm(FlaskForm):
    delivered_on = DateField(
        "Date given", validators=[InputRequired("Give the date the feedback was given.")]
    )
    method = SelectField(
        "How",
        choices=[SelectChoice("", "Choose…")] + [SelectChoice(m, m) for m in DELIVERY_METHODS],
        validators=[Optional()],
    )
    walkabout_id = SelectField(
        "Walkabout it follows (optional)", coerce=optional_int, validators=[Optional()]
    )
    notes = TextAreaField("Notes (optional)", validators=rules.DELIVERY_NOTES.validators(required=False))


class FeedbackUpdateForm(FlaskForm):
    """A "you said, we did" update on one concern (append-only: no version)."""

    kind = RadioField(
        "Is this an update or the final word?",
        choices=[
            SelectChoice(FeedbackKind.INTERIM.value, "Interim: what is happening so far"),
            SelectChoice(FeedbackKind.FINAL.value, "Final: what was done, or why nothing will change"),
        ],
        validators=[InputRequired("Say whether this is an interim update or the final feedback.")],
    )
    text = TextAreaField(
        "What you tell the staff",
        validators=rules.FEEDBACK_UPDATE.validators(),
        description="Plain words for the ward's staff, published on their page as soon as you save: "
        "no names, no patient details.",
    )
