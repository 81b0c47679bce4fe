"""Nobody can take or change another user's saved card: a card setup confirmed for one user's
Stripe customer cannot be saved by anyone else, and each user's card page shows only their card."""
from __future__ import annotations

import re

import pytest

from marketplace.extensions import db
from marketplace.models import User
from tests.factories import csrf_token, login, make_user
from tests.support import FAKE_STRIPE_PUBLISHABLE_KEY, fake_stripe_call


@pytest.fixture
def app_config(stripe_config):
    return stripe_config


def confirmed_setup(client, fake_stripe) -> str:
    """Start a card setup as the client's user and confirm it as Stripe.js would; its id."""
    started = client.post("/account/card/setup", headers={"X-CSRFToken": csrf_token(client)}).get_json()
    status, _ = fake_stripe_call(fake_stripe, "POST", f"/v1/setup_intents/{started['setup_intent']}/confirm",
                                 {"client_secret": started["client_secret"], "payment_method": "pm_card_visa"},
                                 key=FAKE_STRIPE_PUBLISHABLE_KEY)
    assert status == 200
    return started["setup_intent"]


@pytest.mark.usefixtures("shared_gateway")
def test_another_users_card_setup_cannot_be_saved(app, client, fake_stripe):
    owner, thief = make_user(name="Owner"), make_user(name="Thief")
    login(client, owner)
    setup_id = confirmed_setup(client, fake_stripe)

    other = app.test_client()
    login(other, thief)
    stolen = other.post("/account/card/confirm", json={"setup_intent": setup_id},
                        headers={"X-CSRFToken": csrf_token(other)})
    assert stolen.status_code == 409 and stolen.get_json()["error"]["code"] == "card_not_confirmed"
    assert not db.session.get(User, thief.id).has_payment_method
    assert 'data-testid="saved-card"' not in other.get("/account/card").get_data(as_text=True)

    saved = client.post("/account/card/confirm", json={"setup_intent": setup_id},
                        headers={"X-CSRFToken": csrf_token(client)})
    assert saved.status_code == 200, saved.get_json()
    db.session.expire_all()
    assert db.session.get(User, owner.id).card_last4 == "4242"
    assert re.search(r'data-testid="saved-card">[^<]*ending 4242', client.get("/account/card").get_data(as_text=True))
