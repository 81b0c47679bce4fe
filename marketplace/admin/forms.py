"""Admin forms; amounts are typed in dollars and stored in cents."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..errors import ServiceError
from ..validation import dollars_to_cents


class DollarField(StringField):
    """A dollar amount typed by a person; `.cents` holds the parsed whole cents."""

    cents: int | None = None

    def pre_validate(self, form):
        """Parse into cents, or explain what is wrong."""
        self.cents = None
        if self.data:
            try:
                self.cents = dollars_to_cents(self.data)
            except ServiceError as exc:
                raise ValidationError(exc.message) from None


class LotForm(FlaskForm):
    """A new lot from a released handle."""

    handle = StringField(_l("Handle"), validators=[DataRequired()])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("auction", _l("Live auction")), SelectChoice("fixed", _l("Fixed price")),
                                            SelectChoice("dutch", _l("Dutch (falling price)"))])
    start_price = DollarField(_l("Start price (USD)"))
    reserve = DollarField(_l("Reserve (USD, hidden from bidders)"))
    buy_now = DollarField(_l("Buy-now price (USD, until the first bid)"))
    price = DollarField(_l("Fixed price (USD)"), default="50,000")
    floor_price = DollarField(_l("Floor price (USD, Dutch)"))
    half_life_minutes = IntegerField(_l("Halves every (minutes, Dutch)"), default=60,
                                     validators=[Optional(), NumberRange(min=1, max=525600)])
    starts_at = DateTimeLocalField(_l("Starts (UTC, empty: now)"), validators=[Optional()],
                                   format="%Y-%m-%dT%H:%M")
    duration_minutes = IntegerField(_l("Runs for (minutes)"), default=60 * 24 * 3,
                                    validators=[Optional(), NumberRange(min=1, max=60 * 24 * 60)])
    eligibility = SelectField(_l("Who may bid"), choices=[SelectChoice("registered", _l("Any signed-in buyer")),
                                                          SelectChoice("verified", _l("Verified buyers")),
                                                          SelectChoice("organisations", _l("Verified organisations"))])
    submit = SubmitField(_l("Create lot"))


class ReserveForm(FlaskForm):
    """Set or clear an auction's reserve."""

    reserve = DollarField(_l("Reserve (USD; empty for none)"))
    submit = SubmitField(_l("Save reserve"))


class RefundForm(FlaskForm):
    """Refund an order; the reason goes to the buyer, the order and the audit log."""

    reason = TextAreaField(_l("Reason (the buyer sees it)"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Refund the buyer"))
