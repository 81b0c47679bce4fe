"""Inquiry forms: asking, accepting a quote, and (admins) answering a handle by hand."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..admin.forms import DollarField


class InquiryForm(FlaskForm):
    """A pasted list of handles and why the organisation wants them."""

    handles = TextAreaField(_l("Handles"), validators=[DataRequired(), Length(max=20_000)])
    reason = TextAreaField(_l("Why does your organisation want them?"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Send inquiry"))


class AcceptForm(FlaskForm):
    """Accept the ticked handles of a quote; the checkboxes are read from the request (item_id)."""

    confirm = BooleanField(_l("I understand my saved card is charged the quoted price of each ticked handle."),
                           validators=[DataRequired(message=_l("Tick the box to confirm the charge."))])
    submit = SubmitField(_l("Accept and pay"))


class AnswerForm(FlaskForm):
    """An admin answers one handle by hand, or overrides the assistant; audited."""

    status = SelectField(_l("Answer"), choices=[SelectChoice("releasable", _l("Releasable at a price")),
                                                SelectChoice("unavailable", _l("Unavailable"))])
    price = DollarField(_l("List price (USD, before the bulk discount)"))
    note = StringField(_l("Note (the organisation reads it; kept in the audit log)"),
                       validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("Save answer"))
