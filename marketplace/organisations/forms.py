"""Organisation forms: create one, subscribe, cancel (each with CSRF); admins verify or reject."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class OrganisationForm(FlaskForm):
    """A new organisation; an admin checks it before it may subscribe."""

    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(min=2, max=120)])
    website = StringField(_l("Website (optional)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Create organisation"))


class SubscribeForm(FlaskForm):
    """Start the subscription; the box confirms the charge."""

    confirm = BooleanField(_l("I agree that $1,000 is charged to my saved card now and every month until I cancel."),
                           validators=[DataRequired(_l("Tick the box to confirm the charge."))])
    submit = SubmitField(_l("Subscribe for $1,000 a month"))


class CancelForm(FlaskForm):
    """End the subscription; the box confirms it."""

    confirm = BooleanField(_l("Yes, cancel the subscription."),
                           validators=[DataRequired(_l("Tick the box to confirm the cancellation."))])
    submit = SubmitField(_l("Cancel subscription"))


class VerifyForm(FlaskForm):
    """An admin verifies an organisation (CSRF only)."""

    submit = SubmitField(_l("Verify"))


class RejectForm(FlaskForm):
    """An admin turns an organisation down; the owner reads the reason."""

    reason = TextAreaField(_l("Reason (the owner reads it)"), validators=[DataRequired(), Length(min=3, max=200)])
    submit = SubmitField(_l("Reject"))
