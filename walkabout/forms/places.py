"""Admin forms for sites and wards."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .single_line import SingleLine
from .users import CheckboxesField
from .walkabouts import optional_int


class SiteForm(FlaskForm):
    name = StringField(
        "Site name", validators=[DataRequired("Give the site a name."), Length(max=120), SingleLine()]
    )
    active = BooleanField("Active", default=True)


class WardForm(FlaskForm):
    name = StringField(
        "Ward name", validators=[DataRequired("Give the ward a name."), Length(max=120), SingleLine()]
    )
    site_id = SelectField(
        "Site", coerce=optional_int, validate_choice=False, validators=[InputRequired("Choose a site.")]
    )
    specialty = StringField("Specialty", validators=[Optional(), Length(max=120), SingleLine()])
    manager_ids = CheckboxesField("Ward managers", coerce=optional_int, validate_choice=False)
    active = BooleanField(
        "Active (deactivated wards keep their history but get no new walkabouts)", default=True
    )

    def validate_site_id(self, field):
        if field.data is None:
            raise ValidationError("Choose a site.")
