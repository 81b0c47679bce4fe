"""Admin forms; amounts are typed in dollars and stored in cents."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError

from ..errors import ServiceError
from ..validation import MAX_REASON, dollars_to_cents


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


class LotTermsForm(FlaskForm):
    """An open lot's terms an admin may change; a field the page leaves out is left as it is."""

    reserve = DollarField(_l("Reserve (USD; empty for none)"))
    buy_now = DollarField(_l("Buy-now price (USD; empty for none)"))
    ends_at = DateTimeLocalField(_l("Ends (UTC)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    submit = SubmitField(_l("Save changes"))


class VoidForm(FlaskForm):
    """Void one bidder's maximum on an auction; the reason goes to the audit log and the bidder."""

    bidder_alias = HiddenField(validators=[DataRequired(), Length(max=40)])
    reason = TextAreaField(_l("Reason (the bidder reads it)"), validators=[DataRequired(), Length(max=MAX_REASON)])


class VerificationForm(FlaskForm):
    """Verify a buyer ("1"), or take the verification away ("0"), with a reason the buyer reads."""

    verified = HiddenField(validators=[DataRequired(), AnyOf(["1", "0"])])
    reason = StringField(_l("Reason (the buyer reads it)"), validators=[DataRequired(), Length(max=MAX_REASON)])


class StrikeForm(FlaskForm):
    """Clear one strike from a buyer (or every one, the "all" button), with a reason the buyer reads."""

    all = BooleanField()  # the "Clear all" button's value; the page labels the buttons
    reason = StringField(_l("Reason (the buyer reads it)"), validators=[DataRequired(), Length(max=MAX_REASON)])


class RefundForm(FlaskForm):
    """Refund an order; the reason goes to the buyer, the order and the audit log."""

    reason = TextAreaField(_l("Reason (the buyer sees it)"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Refund the buyer"))


class SweepForm(FlaskForm):
    """Run a few batches of the release sweep now (CSRF only)."""

    submit = SubmitField(_l("Run sweep now"))


class ReleaseActionForm(FlaskForm):
    """A bulk action on the release queue; the handles come from checkboxes or the typed list."""

    # Radio buttons, not a menu: every action's whole label shows at any width and in any language.
    action = RadioField(_l("Action"), choices=[
        SelectChoice("release_now", _l("Release now (bot-held account)")),
        SelectChoice("keep", _l("Keep with its owner")),
        SelectChoice("hold_back", _l("Hold back")),
        SelectChoice("return_to_pool", _l("Return to pool"))])
    typed = StringField(_l("Or type handles"), validators=[Optional(), Length(max=2000)])
    reason = TextAreaField(_l("Reason (kept in the audit log)"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Apply to selected"))


class ProtectedNameForm(FlaskForm):
    """Add a name to (or remove one from) the protected-names list, with a reason."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=40)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Protect"))


class BulkListForm(FlaskForm):
    """Settings shared by every picked row of the bulk listing; each row's kind and prices come per row."""

    starts_at = DateTimeLocalField(_l("Starts (UTC, empty: now)"), validators=[Optional()],
                                   format="%Y-%m-%dT%H:%M")
    duration_hours = IntegerField(_l("Auctions run for (hours)"), default=72,
                                  validators=[Optional(), NumberRange(min=1, max=24 * 60)])
    half_life_minutes = IntegerField(_l("Dutch price halves every (minutes)"), default=60,
                                     validators=[Optional(), NumberRange(min=1, max=525600)])
    eligibility = SelectField(_l("Who may bid"), choices=[SelectChoice("registered", _l("Any signed-in buyer")),
                                                          SelectChoice("verified", _l("Verified buyers")),
                                                          SelectChoice("organisations", _l("Verified organisations"))])
    submit = SubmitField(_l("List selected"))
