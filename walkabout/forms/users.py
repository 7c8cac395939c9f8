from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import ROLE_LABELS
from .single_line import SingleLine


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _role_choices():
    return [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]


class UserEditForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120), SingleLine()])
    job_title = StringField("Job title", validators=[Optional(), Length(max=120), SingleLine()])
    roles = CheckboxesField(
        "Roles", choices=_role_choices(), validators=[DataRequired("Choose at least one role.")]
    )


class UserCreateForm(UserEditForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), Length(max=1000)],
        description="At least 12 characters. Give it to the user in person; they can change it.",
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1000)])
