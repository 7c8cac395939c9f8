"""Forms of the capture screen: log or edit a concern, complete, late note, ad-hoc start."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..defaults import STAFF_ROLES
from ..models import ConcernKind
from ..services.concerns import CONSEQUENCE_LABELS, LIKELIHOOD_LABELS, MAX_ACTION, MAX_ROLE, MAX_TEXT
from .single_line import SingleLine
from .version import VersionField
from .walkabouts import database_id


def optional_int(value):
    if value in (None, ""):
        return None
    return database_id(value)


class ScoreField(RadioField):
    """A 1-5 choice shown as tappable buttons; range checked by its validators."""

    def __init__(self, label, labels: dict[int, str], what: str, **kwargs):
        super().__init__(
            label,
            choices=[SelectChoice(n, f"{n} {text}") for n, text in labels.items()],
            coerce=optional_int,
            validate_choice=False,
            validators=[Optional(), NumberRange(1, 5, message=f"Choose a {what} from 1 to 5.")],
            **kwargs,
        )

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Choose a number from 1 to 5.") from None


class ChoiceIdField(SelectField):
    """An optional id chosen from a list; anything that is not a number is refused clearly."""

    def __init__(self, label, message: str, **kwargs):
        super().__init__(label, coerce=optional_int, validate_choice=False, choices=[], **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(self.message) from None


class ConcernForm(FlaskForm):
    kind = RadioField(
        "Kind",
        choices=[
            SelectChoice(ConcernKind.CONCERN.value, "Concern"),
            SelectChoice(ConcernKind.GOOD_PRACTICE.value, "Good practice"),
        ],
        default=ConcernKind.CONCERN.value,
        validate_choice=False,
    )
    text = TextAreaField(
        "What was said",
        validators=[
            InputRequired("Write what was said."),
            Length(max=MAX_TEXT, message=f"Keep it under {MAX_TEXT:,} characters."),
        ],
    )
    category_id = ChoiceIdField("Category", "Choose a category from the list.")
    likelihood = ScoreField("Likelihood", LIKELIHOOD_LABELS, "likelihood")
    consequence = ScoreField("Consequence", CONSEQUENCE_LABELS, "consequence")
    raised_by_role = StringField(
        "Raised by (role, never a name)",
        validators=[Length(max=MAX_ROLE), SingleLine()],
    )
    immediate_action = TextAreaField("Action taken on the spot", validators=[Length(max=MAX_ACTION)])
    ward_can_fix = BooleanField("The ward can fix this itself")
    photo = FileField("Photo", description="Optional. Up to 10 MB; location data is removed.")
    idempotency_key = HiddenField()
    version = VersionField()

    def set_categories(self, categories) -> None:
        self.category_id.choices = [SelectChoice("", "No category")] + [
            SelectChoice(c.id, c.name) for c in categories
        ]


class CompleteForm(FlaskForm):
    summary_notes = TextAreaField("Summary notes", validators=[Length(max=10000)])
    other_role = StringField("Other role", validators=[Length(max=120), SingleLine()])
    other_count = IntegerField("How many", validators=[Optional(), NumberRange(0, 200)])
    feedback_given = RadioField(
        "Was feedback given to staff today?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[InputRequired("Say whether feedback was given to staff.")],
    )
    feedback_notes = TextAreaField("What was fed back", validators=[Length(max=2000)])
    version = VersionField()


STAFF_FIELD_PREFIX = "staff_"


def staff_field_names() -> list[tuple[str, str]]:
    return [(f"{STAFF_FIELD_PREFIX}{i}", role) for i, role in enumerate(STAFF_ROLES)]


def _add_staff_fields() -> None:
    for name, role in staff_field_names():
        setattr(
            CompleteForm,
            name,
            IntegerField(
                role,
                validators=[Optional(), NumberRange(0, 200, message="Use a number from 0 to 200.")],
            ),
        )


_add_staff_fields()


class LateNoteForm(FlaskForm):
    note = TextAreaField("Late note", validators=[InputRequired("Write the note first."), Length(max=2000)])


class AdhocForm(FlaskForm):
    ward_id = ChoiceIdField(
        "Ward", "Choose a ward from the list.", validators=[InputRequired("Choose a ward.")]
    )
    idempotency_key = HiddenField()
