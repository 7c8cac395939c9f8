from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField
from wtforms.validators import Optional, ValidationError

MAX_RANGE_DAYS = 3660


class GeneratePackForm(FlaskForm):
    """Generate a new version of a month's board pack (the month is in the URL).

    For a month not over, `confirmed` is "yes" only on the confirm step's form, and
    `seen_version` is the newest version that step showed (so sending it twice makes one)."""

    confirmed = HiddenField()
    seen_version = HiddenField()  # ASCII digits, read with urls.ascii_int


class DashboardRangeForm(FlaskForm):
    """The dashboard's date range (a GET form: no CSRF, bookmarkable)."""

    class Meta:
        csrf = False

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_date_to(self, field):
        if field.data and field.data > self.today:
            raise ValidationError("Choose a day up to today.")
        start = self.date_from.data
        if field.data and start:
            if start > field.data:
                raise ValidationError("The end must be on or after the start.")
            if field.data - start > timedelta(days=MAX_RANGE_DAYS):
                raise ValidationError("Choose a range of at most ten years.")
