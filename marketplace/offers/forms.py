"""Offer forms: making an offer (then confirming it), countering one, and the answer buttons."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from auctions.offers import MESSAGE_MAX


class OfferForm(FlaskForm):
    """The lot page's offer: an amount in dollars and an optional note; the next page confirms it."""

    amount = StringField(_l("Your offer (USD)"), validators=[DataRequired(), Length(max=30)])
    message = TextAreaField(_l("Message to the seller (optional)"), validators=[Optional(), Length(max=MESSAGE_MAX)])
    key = HiddenField(validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Review offer"))


class ConfirmOfferForm(FlaskForm):
    """The confirmed offer, exactly as shown on the confirmation page."""

    amount_cents = IntegerField(widget=HiddenInput(), validators=[DataRequired(), NumberRange(min=1)])
    message = HiddenField(validators=[Optional(), Length(max=MESSAGE_MAX)])
    key = HiddenField(validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Send offer"))


class CounterForm(FlaskForm):
    """A counter-offer: another amount in dollars, and an optional note."""

    amount = StringField(_l("Counter-offer (USD)"), validators=[DataRequired(), Length(max=30)])
    message = StringField(_l("Message (optional)"), validators=[Optional(), Length(max=MESSAGE_MAX)])
    submit = SubmitField(_l("Counter"))


class OfferActionForm(FlaskForm):
    """Accept, decline or withdraw: a button, with its CSRF token."""
