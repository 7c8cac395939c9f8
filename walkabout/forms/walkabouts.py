"""Forms of walkabouts: schedule (one or a series), edit, cancel, series edit, rota."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import (
    DateField as _DateField,
)
from wtforms import (
    TimeField as _TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..urls import ascii_int
from .single_line import SingleLine
from .users import CheckboxesField
from .version import VersionField


def as_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


WEEKDAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
ORDINAL_CHOICES = [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (-1, "Last")]
REPEAT_CHOICES = [
    ("none", "Does not repeat"),
    ("weekly", "Weekly, on a day of the week"),
    ("monthly_weekday", "Monthly, e.g. the 2nd Tuesday"),
    ("monthly_date", "Monthly, on a date (e.g. the 15th)"),
]


def database_id(value) -> int:
    """Coerce a chosen record's id to int; not a number, or beyond any stored id, is refused."""
    text = str(value)
    number = None if isinstance(value, bool) else ascii_int(text.removeprefix("-"), low=0)
    if number is None:  # not a number, "²", "٣", " 7", or beyond any stored id
        raise ValueError("Choose one of the options.")
    return -number if text.startswith("-") else number


def optional_int(value):
    """Coerce a form value to int; empty is None, anything else not a number is refused."""
    if value in (None, "", "None"):
        return None
    return database_id(value)


DATE_MESSAGE = "Enter a real date (day, month, year)."
TIME_MESSAGE = "Enter a time such as 14:00."


class DateField(_DateField):
    """A date input whose parse error says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DATE_MESSAGE) from None


class TimeField(_TimeField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(TIME_MESSAGE) from None


class _WalkaboutFields(FlaskForm):
    ward_id = SelectField(
        "Ward", coerce=optional_int, validate_choice=False, validators=[InputRequired("Choose a ward.")]
    )
    day = DateField("Date", validators=[InputRequired(DATE_MESSAGE)])
    at = TimeField("Start time", validators=[InputRequired(TIME_MESSAGE)])
    duration_minutes = IntegerField(
        "Duration in minutes",
        default=60,
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(15, 480, "Between 15 and 480 minutes."),
        ],
    )
    lead_id = SelectField(
        "Lead executive",
        coerce=optional_int,
        validate_choice=False,
        validators=[InputRequired("Choose a lead executive.")],
    )
    attendee_ids = SelectMultipleField(
        "Other attendees",
        coerce=optional_int,
        validate_choice=False,
        description="Hold Ctrl (or Cmd) to choose several on a computer.",
    )
    guests = StringField(
        "Guests",
        validators=[Optional(), Length(max=500), SingleLine()],
        description="People without an account, e.g. a patient representative.",
    )
    focus = StringField("Focus or theme", validators=[Optional(), Length(max=200), SingleLine()])
    confirm_clashes = BooleanField("Schedule anyway, despite the clashes listed above")

    def validate_ward_id(self, field):
        if field.data is None:
            raise ValidationError("Choose a ward.")

    def validate_lead_id(self, field):
        if field.data is None:
            raise ValidationError("Choose a lead executive.")

    def validate_attendee_ids(self, field):
        field.data = [value for value in (field.data or []) if value is not None]


class ScheduleForm(_WalkaboutFields):
    repeat = SelectField("Repeat", choices=as_choices(REPEAT_CHOICES), default="none")
    interval = IntegerField(
        "Every how many weeks or months",
        default=1,
        validators=[Optional(), NumberRange(1, 12, "Between 1 and 12.")],
    )
    weekday = SelectField(
        "Day of the week",
        coerce=optional_int,
        validate_choice=False,
        choices=as_choices([("", "Same as the first date"), *WEEKDAY_CHOICES]),
    )
    ordinal = SelectField(
        "Which one in the month",
        coerce=optional_int,
        validate_choice=False,
        choices=as_choices([("", "Same as the first date"), *ORDINAL_CHOICES]),
    )
    month_day = IntegerField(
        "Day of the month",
        validators=[Optional(), NumberRange(1, 31, "From 1 to 31.")],
        description="Empty: the first date's day. 29, 30 or 31 fall on the last day of shorter months.",
    )
    count = IntegerField(
        "Number of walkabouts", validators=[Optional(), NumberRange(1, 400, "From 1 to 400.")]
    )
    until = DateField("Or end on", validators=[Optional()])

    def validate_count(self, field):
        if self.repeat.data != "none" and field.data is None and self.until.data is None:
            raise ValidationError("A series needs an end: a number of walkabouts or an end date.")


class EditWalkaboutForm(_WalkaboutFields):
    version = VersionField()
    reason = TextAreaField(
        "Reason for the change",
        validators=[Optional(), Length(max=1000)],
        description="Needed when you move the date or time; kept in the walkabout's history.",
    )


class OpenActionsReviewedForm(FlaskForm):
    """The pre-visit brief's tick; the form says what it should be, so sending it twice is harmless."""

    reviewed = BooleanField("Open actions from the last visit reviewed with the ward")


class CancelWalkaboutForm(FlaskForm):
    version = VersionField()
    reason = TextAreaField(
        "Why is it cancelled?",
        validators=[
            DataRequired("Give a reason for cancelling. Cancellations are reported to the board."),
            Length(max=1000),
        ],
    )


class CancelSeriesForm(FlaskForm):
    reason = TextAreaField(
        "Why are they cancelled?",
        validators=[
            DataRequired("Give a reason for cancelling. Cancellations are reported to the board."),
            Length(max=1000),
        ],
    )


class SeriesEditForm(FlaskForm):
    lead_id = SelectField(
        "Lead executive",
        coerce=optional_int,
        validate_choice=False,
        validators=[InputRequired("Choose a lead executive.")],
    )
    at = TimeField("Start time", validators=[InputRequired(TIME_MESSAGE)])
    duration_minutes = IntegerField(
        "Duration in minutes",
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(15, 480, "Between 15 and 480 minutes."),
        ],
    )
    focus = StringField("Focus or theme", validators=[Optional(), Length(max=200), SingleLine()])
    reason = TextAreaField(
        "Reason for the change",
        validators=[Optional(), Length(max=1000)],
        description="Needed when the time moves; kept in each walkabout's history.",
    )
    confirm_clashes = BooleanField("Change anyway, despite the clashes listed above")
    version = VersionField()


class RotaForm(FlaskForm):
    first_day = DateField("First day", validators=[InputRequired(DATE_MESSAGE)])
    visits_per_ward = IntegerField(
        "Visits to each ward in the year",
        default=4,
        validators=[
            InputRequired("How many times should each ward be visited?"),
            NumberRange(1, 52, "From 1 to 52."),
        ],
    )
    at = TimeField("Start time", validators=[InputRequired(TIME_MESSAGE)])
    duration_minutes = IntegerField(
        "Duration in minutes",
        default=60,
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(15, 480, "Between 15 and 480 minutes."),
        ],
    )
    weekdays = CheckboxesField(
        "Days of the week",
        coerce=int,
        choices=as_choices(WEEKDAY_CHOICES),
        default=[0, 1, 2, 3, 4],
        validators=[DataRequired("Choose at least one day of the week.")],
    )
    executive_ids = SelectMultipleField(
        "Executives",
        coerce=optional_int,
        validate_choice=False,
        description="Leave empty to share the rota among all executives.",
    )
    site_id = SelectField("Site", coerce=optional_int, validate_choice=False)
