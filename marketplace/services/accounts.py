"""Accounts: registration, sign-in, API tokens and the admin from settings."""
from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from flask import current_app, has_app_context
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ..db import transaction
from ..errors import BadRequest, Conflict
from ..models import ApiToken, Role, User

@functools.cache
def _hasher_for(params: tuple) -> tuple[PasswordHasher, str]:
    """Argon2 with these parameters, and a hash to verify against when the email is unknown (made
    with the same parameters, so timing does not reveal which accounts exist)."""
    hasher = PasswordHasher(**dict(params))
    return hasher, hasher.hash("not-a-real-password")


def _hashing() -> tuple[PasswordHasher, str]:
    """The app's password hasher: argon2's defaults (RFC 9106), unless the app's config sets
    PASSWORD_HASH_PARAMS (only tests do: a hash there need not resist a cracking rig, and
    argon2's 0.1 s per hash, paid for every user a test makes, was minutes of the suite)."""
    params = current_app.config.get("PASSWORD_HASH_PARAMS") if has_app_context() else None
    return _hasher_for(tuple(sorted((params or {}).items())))

MIN_PASSWORD = 10
MAX_PASSWORD = 256

_ADJECTIVES = ["Amber", "Brisk", "Calm", "Dapper", "Eager", "Fleet", "Gentle", "Hardy", "Ivory",
               "Jolly", "Keen", "Lucky", "Mellow", "Noble", "Opal", "Plucky", "Quiet", "Rapid",
               "Sunny", "Tidy", "Upbeat", "Vivid", "Witty", "Zesty"]
_ANIMALS = ["Badger", "Crane", "Dolphin", "Falcon", "Gecko", "Heron", "Ibex", "Jaguar", "Koala",
            "Lynx", "Marten", "Narwhal", "Otter", "Puffin", "Quail", "Raven", "Stoat", "Tapir",
            "Urchin", "Vole", "Walrus", "Yak", "Zebra"]


def normalise_email(raw: object) -> str:
    """Validate an email address and return it in lower case."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("invalid_email", "Enter a valid email address.")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadRequest("invalid_email", "Enter a valid email address (%(detail)s).", detail=exc) from None
    return result.normalized.lower()


def hash_token(raw: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(raw.encode()).hexdigest()


@functools.cache
def _user_by_token():
    """The statement `user_for_token` runs, built once (building it cost more than running it)."""
    return select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("token_hash"))


class AccountService:
    """Registers users, checks passwords and issues API tokens."""

    def __init__(self, session, clock):
        self.session = session
        self.clock = clock

    def _new_alias(self) -> str:
        """A public alias that says nothing about the person."""
        for _ in range(50):
            alias = (secrets.choice(_ADJECTIVES) + secrets.choice(_ANIMALS)
                     + str(secrets.randbelow(90) + 10))
            taken = self.session.execute(select(User.id).where(User.alias == alias)).first()
            if not taken:
                return alias
        return "Bidder" + secrets.token_hex(4)

    def register(self, email: object, password: object, display_name: object,
                 roles: tuple[str, ...] = (Role.BUYER,), locale: str | None = None) -> User:
        """Create a user, refusing bad input and taken emails; `locale` is the language their emails use."""
        email = normalise_email(email)
        if not isinstance(password, str) or not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
            raise BadRequest("invalid_password",
                             "Choose a password of %(min)s to %(max)s characters.", min=MIN_PASSWORD, max=MAX_PASSWORD)
        if not isinstance(display_name, str) or not (1 <= len(display_name.strip()) <= 80):
            raise BadRequest("invalid_display_name", "Give a display name of 1 to 80 characters.")
        password_hash = _hashing()[0].hash(password)  # slow on purpose: done before the transaction
        taken = Conflict("email_taken", "An account with this email already exists.")
        try:
            with transaction():
                if self.session.execute(select(User.id).where(User.email == email)).first():
                    raise taken
                user = User(email=email, password_hash=password_hash, display_name=display_name.strip(),
                            alias=self._new_alias(), roles_csv=",".join(sorted(str(r) for r in roles)),
                            created_at=self.clock.now(), locale=locale)
                self.session.add(user)
        except IntegrityError:
            # Two registrations of one email at once: the unique index decides, the loser is told.
            raise taken from None
        return user

    def authenticate(self, email: object, password: object) -> User | None:
        """Return the user whose email and password match, or None."""
        if not isinstance(email, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return None
        user = self.session.execute(
            select(User).where(User.email == email.strip().lower())
        ).scalar_one_or_none()
        try:
            hasher, dummy = _hashing()
            hasher.verify(user.password_hash if user else dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        return user

    def set_locale(self, user: User, code: object, languages: list[str], only_if_unset: bool = False) -> User:
        """Remember the user's language (their emails and, without a cookie, their pages use it)."""
        if not isinstance(code, str) or code not in languages:
            raise BadRequest("unsupported_language", "Choose one of these languages: %(codes)s.",
                             codes=", ".join(languages))
        row = self.session.get(User, user.id)  # the session's own row, whoever `user` came from
        if row.locale == code or (only_if_unset and row.locale):
            return row
        with transaction():
            row.locale = code
        return row

    def issue_token(self, user: User) -> str:
        """Create an API token; only its hash is kept, so it is shown once."""
        raw = "hx_" + secrets.token_urlsafe(32)
        with transaction():
            self.session.add(ApiToken(user_id=user.id, token_hash=hash_token(raw),
                                      created_at=self.clock.now()))
        return raw

    def user_for_token(self, raw: str) -> User | None:
        """The user a bearer token belongs to, if any."""
        # One round trip (a join), not the token and then its user: this runs on every API call.
        return self.session.execute(_user_by_token(), {"token_hash": hash_token(raw)}).scalar_one_or_none()

    def ensure_admin(self, email: str, password: str) -> User:
        """Make sure the admin named in the settings exists and holds the admin role."""
        email = normalise_email(email)
        user = self.session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
        if user is None:
            try:
                return self.register(email, password, "Administrator", roles=(Role.BUYER, Role.ADMIN))
            except Conflict:
                # Another process (a second server starting) created it a moment ago.
                user = self.session.execute(select(User).where(User.email == email)).scalar_one()
        if not user.is_admin:
            with transaction():
                user.add_role(Role.ADMIN)
        return user
