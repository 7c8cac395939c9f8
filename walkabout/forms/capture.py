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
from wtforms.validators import InputRequired, NumberRange, Optional

from .. import rules
from ..defaults import CONSEQUENCE_LABELS, LIKELIHOOD_LABELS
from ..models import ConcernKind
from ..rules import PHOTO_LIMIT_LABEL
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
            validators=[Optional(), NumberRange(*rules.RISK_SCALE, message=rules.score_out_of_range(what))],
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
        validators=rules.CONCERN_TEXT.validators(),
    )
    category_id = ChoiceIdField("Category", "Choose a category from the list.")
    likelihood = ScoreField("Likelihood", LIKELIHOOD_LABELS, "likelihood")
    consequence = ScoreField("Consequence", CONSEQUENCE_LABELS, "consequence")
    raised_by_role = StringField(
        "Raised by (role, never a name)",
        validators=[*rules.RAISED_BY_ROLE.validators(required=False), SingleLine()],
    )
    immediate_action = TextAreaField(
        "Action taken on the spot", validators=rules.IMMEDIATE_ACTION.validators(required=False)
    )
    ward_can_fix = BooleanField("The ward can fix this itself")
    photo = FileField("Photo", description=f"Optional. Up to {PHOTO_LIMIT_LABEL}; location data is removed.")
    idempotency_key = HiddenField()
    version = VersionField()
    staff_roles: tuple[str, ...] = ()  # suggested for "raised by" (the admin-editable list)

    def set_categories(self, categories, kept=None) -> None:
        """Offer the active `categories`, and `kept` (an edited concern's retired one) too."""
        extra = (
            [SelectChoice(kept.id, f"{kept.name} (retired)")] if kept is not None and not kept.active else []
        )
        self.category_id.choices = (
            [SelectChoice("", "No category")] + [SelectChoice(c.id, c.name) for c in categories] + extra
        )

    def set_risk_labels(self, labels: dict[str, dict[int, str]]) -> None:
        """The trust's words for each likelihood and consequence level."""
        for field in (self.likelihood, self.consequence):
            field.choices = [SelectChoice(n, f"{n} {text}") for n, text in labels[field.short_name].items()]


class CompleteForm(FlaskForm):
    summary_notes = TextAreaField("Summary notes", validators=rules.SUMMARY_NOTES.validators(required=False))
    other_role = StringField(
        "Other role", validators=[*rules.OTHER_ROLE.validators(required=False), SingleLine()]
    )
    other_count = IntegerField(
        "How many",
        validators=[
            Optional(),
            NumberRange(0, rules.MAX_PARTICIPANTS, message=rules.PARTICIPANTS_OUT_OF_RANGE),
        ],
    )
    feedback_given = RadioField(
        "Was feedback given to staff today?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[InputRequired("Say whether feedback was given to staff.")],
    )
    feedback_notes = TextAreaField(
        "What was fed back", validators=rules.FEEDBACK_NOTES.validators(required=False)
    )
    version = VersionField()


STAFF_FIELD_PREFIX = "staff_"


def staff_field_names(roles) -> list[tuple[str, str]]:
    """(field name, role) per staff role row; named by id, so a reorder never shifts a count."""
    return [(f"{STAFF_FIELD_PREFIX}{role.id}", role.name) for role in roles]


def complete_form(roles, **kwargs) -> CompleteForm:
    """The completing form with a count field per staff role (the admin-editable list)."""
    fields = {
        name: IntegerField(
            role,
            validators=[
                Optional(),
                NumberRange(0, rules.MAX_PARTICIPANTS, message=rules.PARTICIPANTS_OUT_OF_RANGE),
            ],
        )
        for name, role in staff_field_names(roles)
    }
    return type("CompleteFormWithRoles", (CompleteForm,), fields)(**kwargs)


class LateNoteForm(FlaskForm):
    note = TextAreaField("Late note", validators=rules.LATE_NOTE.validators())


class AdhocForm(FlaskForm):
    ward_id = ChoiceIdField(
        "Ward", "Choose a ward from the list.", validators=[InputRequired("Choose a ward.")]
    )
    idempotency_key = HiddenField()
