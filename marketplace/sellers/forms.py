"""Seller forms; amounts are typed in dollars and kept in cents."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..admin.forms import DollarField


class ClaimForm(FlaskForm):
    """Start proving you hold a handle's account."""

    handle = StringField(_l("Handle"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Get a code"))


class SellerLotForm(FlaskForm):
    """A seller's lot: a handle of their linked account, as an auction or at a fixed price."""

    handle = SelectField(_l("Handle"), choices=[], validate_choice=False, validators=[DataRequired()])
    kind = SelectField(_l("How it sells"), choices=[SelectChoice("fixed", _l("Fixed price")),
                                                    SelectChoice("auction", _l("Auction"))])
    price = DollarField(_l("Price (USD)"))
    accepts_offers = BooleanField(_l("Accept offers below the price"))
    start_price = DollarField(_l("Start price (USD)"))
    reserve = DollarField(_l("Reserve (USD, optional, hidden from bidders)"))
    buy_now = DollarField(_l("Buy-now price (USD, optional, until the first bid)"))
    duration_days = IntegerField(_l("Runs for (days)"), default=7, validators=[Optional(), NumberRange(min=1, max=10)])
    preview = SubmitField(_l("Preview"))
    edit = SubmitField(_l("Change"))
    confirm = SubmitField(_l("Confirm and list"))

    def data_for_service(self) -> dict:
        """The service's input: only the fields the chosen kind uses."""
        data = {"handle": self.handle.data, "kind": self.kind.data}
        if self.kind.data == "auction":
            data.update(start_price_cents=self.start_price.cents, reserve_cents=self.reserve.cents,
                        buy_now_price_cents=self.buy_now.cents, duration_days=self.duration_days.data or 7)
        else:
            data.update(price_cents=self.price.cents, accepts_offers=bool(self.accepts_offers.data))
            if self.duration_days.data:
                data["duration_days"] = self.duration_days.data
        return data


class BioForm(FlaskForm):
    """The development platform's profile editor: the account's bio."""

    bio = TextAreaField(_l("Bio"), validators=[Optional(), Length(max=160)])
    submit = SubmitField(_l("Save bio"))
