"""Console: support finds members and acts on cards; every action is a CSRF-checked POST,
audited with the operator; forms keep what was typed; marketers are refused (audited)."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from gateway.models import Card, LedgerEntry, Member
from gateway.models.base import utcnow
from gateway.runtime import runtime
from tests.console_helpers import audits, csrf_of, post_form, signed_in_client
from tests.factories import enroll_member
from tests.integration.conftest import account_state, assert_ledger_consistent, new_till
from tests.member_helpers import apple_scan

_REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def _page(number: str) -> str:
    return f"/console/members/demo/{number}"


def _card(app, number: str) -> Card:
    with runtime(app).sessions() as session:
        return session.scalars(select(Card).where(Card.number == number)).one()


def _form_values(client, number: str) -> tuple[str, str]:
    """(csrf token, request id) of the member page's adjustment form."""
    page = client.get(_page(number)).get_data(as_text=True)
    match = _REQUEST_ID.search(page)
    assert match, page
    return csrf_of(client, _page(number)), match.group(1)


def test_marketers_may_not_open_or_act_on_members(app):
    member = enroll_member(app)
    client = signed_in_client(app, "marketer")

    assert client.get("/console/members").status_code == 403
    # The CSRF token of a page the marketer may open: the refusal is the role, not the form.
    token = csrf_of(client, "/console")
    refused = client.post(f"{_page(member.card_number)}/revoke", data={"csrf_token": token})

    assert refused.status_code == 403
    assert _card(app, member.card_number).status == "active"
    forbidden = audits(app, "console.forbidden")
    assert [row.details["role"] for row in forbidden] == ["marketer", "marketer"]
    assert forbidden[-1].subject.endswith("/revoke")


def test_support_finds_members_by_each_key(app):
    member = enroll_member(app, email="lost.phone@example.com", balance=120)
    with runtime(app).sessions() as session:
        session.execute(
            update(Member).where(Member.id == member.member_id).values(phone="+34600123456")
        )
        session.execute(
            update(Card).where(Card.member_id == member.member_id).values(legacy_number="OLD-77")
        )
        session.commit()
    enroll_member(app)  # someone else, never in the results
    client = signed_in_client(app, "support")

    for query in (
        "lost.phone@example.com",
        " LOST.PHONE@example.COM ",
        "+34 600 12 34 56",
        member.card_number,
        "OLD-77",
    ):
        page = client.get("/console/members", query_string={"q": query})
        text = page.get_data(as_text=True)
        assert page.status_code == 200, query
        assert text.count('class="member-link"') == 1, query
        assert _page(member.card_number) in text, query
    missing = client.get("/console/members", query_string={"q": "nobody@example.com"})
    assert missing.status_code == 200 and 'id="no-results"' in missing.get_data(as_text=True)


def test_a_malformed_e_mail_is_a_field_error(app):
    client = signed_in_client(app, "support")
    enroll_member(app)
    page = client.get("/console/members", query_string={"q": "not@an@address"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "not a valid e-mail address" in text and 'value="not@an@address"' in text


def test_the_member_page_shows_balance_passes_ledger_and_audit(app):
    member = enroll_member(app, balance=700, tier="Silver")
    till = new_till(app)
    assert till.identify(member.google_scan()).status_code == 200
    client = signed_in_client(app, "support")

    page = client.get(_page(member.card_number))

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="balance">700<' in text and 'id="tier">Silver<' in text
    assert "Google Wallet" in text and "Apple Wallet" in text
    assert 'id="ledger"' in text and "import" in text
    assert client.get(_page("7000000000000013")).status_code == 404


def test_an_adjustment_is_saved_once_even_when_the_form_is_sent_twice(app):
    member = enroll_member(app, balance=100)
    client = signed_in_client(app, "support", "help@example.com")
    token, request_id = _form_values(client, member.card_number)
    form = {"csrf_token": token, "request_id": request_id, "points": "50", "reason": "Missed scan"}

    first = client.post(f"{_page(member.card_number)}/points", data=form)
    second = client.post(f"{_page(member.card_number)}/points", data=form)

    assert first.status_code == second.status_code == 302
    assert account_state(app, member.account_id) == (150, 0)
    (audit,) = audits(app, "points.adjusted")
    assert audit.actor.startswith("operator:") and audit.details["reason"] == "Missed scan"
    shown = client.get(_page(member.card_number)).get_data(as_text=True)
    assert "already saved" in shown and "Missed scan" in shown
    assert_ledger_consistent(app)


def test_a_bad_adjustment_re_renders_with_field_errors_and_what_was_typed(app):
    member = enroll_member(app, balance=100)
    client = signed_in_client(app, "support")
    token, request_id = _form_values(client, member.card_number)

    page = client.post(
        f"{_page(member.card_number)}/points",
        data={"csrf_token": token, "request_id": request_id, "points": "12.5", "reason": ""},
    )

    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="error-points"' in text and 'id="error-reason"' in text
    assert 'value="12.5"' in text and f'value="{request_id}"' in text
    too_much = client.post(
        f"{_page(member.card_number)}/points",
        data={"csrf_token": token, "request_id": request_id, "points": "-101", "reason": "Fix"},
    )
    assert too_much.status_code == 409
    assert "not enough points" in too_much.get_data(as_text=True)
    assert account_state(app, member.account_id) == (100, 0)
    assert audits(app, "points.adjusted") == []


def test_a_form_without_its_csrf_token_changes_nothing(app):
    member = enroll_member(app, balance=100)
    client = signed_in_client(app, "support")

    for action, data in (
        ("revoke", {}),
        ("points", {"points": "10", "reason": "x", "request_id": "req-nocsrf-1"}),
        ("erase", {"csrf_token": "forged"}),
    ):
        answer = client.post(f"{_page(member.card_number)}/{action}", data=data)
        assert answer.status_code == 400, action

    assert _card(app, member.card_number).status == "active"
    assert account_state(app, member.account_id) == (100, 0)
    assert audits(app, "card.revoked") == [] and audits(app, "member.erased") == []


def test_revoke_is_confirmed_then_refused_at_the_till(app):
    member = enroll_member(app)
    till = new_till(app)
    client = signed_in_client(app, "support", "desk@example.com")

    confirm = client.get(f"{_page(member.card_number)}/revoke")
    assert confirm.status_code == 200 and 'id="confirm-revoke"' in confirm.get_data(as_text=True)
    assert _card(app, member.card_number).status == "active"  # a GET changes nothing
    done = post_form(client, f"{_page(member.card_number)}/revoke", {})
    again = post_form(client, f"{_page(member.card_number)}/revoke", {})

    assert done.status_code == again.status_code == 302
    assert _card(app, member.card_number).status == "revoked"
    (audit,) = audits(app, "card.revoked")
    assert audit.actor.startswith("operator:")
    assert "already revoked" in client.get(_page(member.card_number)).get_data(as_text=True)
    refused = till.identify(apple_scan(app, member.card_number))
    assert refused.json["error"]["code"] == "card_revoked"


def test_replace_then_unlock(app):
    member = enroll_member(app, balance=400)
    till = new_till(app)
    client = signed_in_client(app, "admin")
    old_scan = apple_scan(app, member.card_number)

    replaced = post_form(client, f"{_page(member.card_number)}/replace", {})

    assert replaced.status_code == 302
    assert till.identify(old_scan).status_code == 410  # an old copy: card_revoked
    assert till.identify(apple_scan(app, member.card_number)).status_code == 200
    with runtime(app).sessions() as session:
        session.execute(
            update(Card)
            .where(Card.number == member.card_number)
            .values(locked_until=utcnow().replace(year=utcnow().year + 1))
        )
        session.commit()
    page = client.get(_page(member.card_number)).get_data(as_text=True)
    assert 'id="unlock"' in page
    unlocked = post_form(
        client, f"{_page(member.card_number)}/unlock", {}, _page(member.card_number)
    )
    assert unlocked.status_code == 302
    assert "The card is unlocked." in client.get(_page(member.card_number)).get_data(as_text=True)
    assert len(audits(app, "card.unlocked")) == 1 and len(audits(app, "card.replaced")) == 1


def test_closing_a_membership_erases_the_contact(app):
    member = enroll_member(app, email="gone@example.com", balance=50)
    client = signed_in_client(app, "support")

    confirm = client.get(f"{_page(member.card_number)}/erase").get_data(as_text=True)
    assert "cannot be undone" in confirm
    post_form(client, f"{_page(member.card_number)}/erase", {})

    page = client.get(_page(member.card_number)).get_data(as_text=True)
    assert "personal data erased" in page and "gone@example.com" not in page
    assert 'id="adjust"' not in page and 'id="replace"' not in page
    found = client.get("/console/members", query_string={"q": "gone@example.com"})
    assert 'id="no-results"' in found.get_data(as_text=True)


def test_the_ledger_pages_newest_first(app):
    member = enroll_member(app, balance=10)
    rt = runtime(app)
    with rt.sessions() as session:
        account_id = member.account_id
        for i in range(30):
            session.add(
                LedgerEntry(account_id=account_id, kind="expiry", points=0, reference=f"t{i}")
            )
        session.commit()
    client = signed_in_client(app, "support")

    first = client.get(_page(member.card_number)).get_data(as_text=True)
    older = re.search(r'href="([^"]+before=\d+)" id="ledger-older"', first)
    assert older and first.count("<td>expiry</td>") == 25
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<td>expiry</td>") == 5 and "<td>import</td>" in second
    assert 'id="ledger-older"' not in second
