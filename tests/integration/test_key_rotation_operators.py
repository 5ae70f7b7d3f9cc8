"""`gateway keys rotate` re-seals operators' TOTP secrets too: after the old key leaves the ring,
an operator with two-step sign-in still signs in with a code."""

from __future__ import annotations

import time

import pyotp

from gateway.models.operator import Operator
from gateway.runtime import runtime
from gateway.secret_box import SecretBox, new_key_entry, parse_key_ring
from gateway.services.chores.key_rotation import reencrypt_secrets
from gateway.services.console import second_factor, signin
from tests.console_helpers import PASSWORD, make_operator


def test_an_operator_second_factor_survives_a_key_rotation(make_app, key_ring):
    app = make_app()
    rt = runtime(app)
    operator_id = make_operator(app, "rotating@example.com", "admin")
    with rt.sessions() as session:
        operator = session.get(Operator, operator_id)
        assert operator is not None
        secret = second_factor.pending_enrolment(rt, session, operator).secret
        second_factor.confirm_enrolment(rt, session, operator, pyotp.TOTP(secret).now())
    new_key = new_key_entry("t2")
    with rt.sessions() as session:
        changed = reencrypt_secrets(session, SecretBox(parse_key_ring(f"{new_key},{key_ring}")))
    assert changed >= 1
    rotated = make_app(SECRET_KEYS=new_key)  # the old key is gone
    rrt = runtime(rotated)
    with rrt.sessions() as session:
        operator = session.get(Operator, operator_id)
        assert operator is not None
        assert rrt.secret_box.key_id(operator.totp_secret or b"") == "t2"
        # The next step's code: the current one was used by the confirmation (codes are
        # accepted once) and one step of drift is allowed.
        code = pyotp.TOTP(secret).at(int(time.time()) + 30)
        token = signin.sign_in(rrt, session, "rotating@example.com", PASSWORD, code, "127.0.0.1")
    assert token
