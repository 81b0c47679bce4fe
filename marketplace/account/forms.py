"""Account forms: backordering a handle."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class BackorderForm(FlaskForm):
    """Backorder a handle that is not released yet."""

    handle = StringField(_l("Handle"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Backorder"))
