"""Sign-in and registration forms (Flask-WTF: CSRF on every form)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..services.accounts import MAX_PASSWORD, MIN_PASSWORD

# The password rule in our words, the same sentence as the API's refusal (services/accounts.py):
# the form's hint says it, and its error repeats it rather than the framework's "Field must be
# between ..." text.
PASSWORD_RULE = _l("Choose a password of %(min)s to %(max)s characters.", min=MIN_PASSWORD, max=MAX_PASSWORD)


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


class RegisterForm(FlaskForm):
    """A new account."""

    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), description=PASSWORD_RULE, validators=[
        DataRequired(message=PASSWORD_RULE), Length(min=MIN_PASSWORD, max=MAX_PASSWORD, message=PASSWORD_RULE)])
    confirm = PasswordField(_l("Repeat password"), validators=[EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Create account"))
