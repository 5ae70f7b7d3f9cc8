"""Console programs: list, create and edit through the form (tiers as rows), every bad field at
once with what was typed kept, versioned saves, code settings fixed once passes exist, audit rows
and the pass refresh of a change that shows on passes."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.models.member import Member
from gateway.models.pass_refresh import PassRefresh
from gateway.models.program import Program
from gateway.runtime import runtime
from gateway.services.issue.programs import DEV_GOOGLE_ISSUER_ID
from tests.console_helpers import audits, csrf_of, post_form, signed_in_client
from tests.factories import demo_program, enroll_member

NEW = "/console/programs/new"


def form(**overrides: str) -> dict[str, str]:
    """A complete create form: three tiers and one empty row."""
    data = {
        "slug": "coffee-club",
        "name": "Coffee Club",
        "organization": "Bean & Co.",
        "points_label": "Beans",
        "currency": "EUR",
        "points_per_currency_unit": "2",
        "point_value": "0.005",
        "points_validity_days": "730",
        "totp_digits": "8",
        "totp_period_seconds": "30",
        "background_color": "#112233",
        "foreground_color": "#FFFFFF",
        "label_color": "#aabbcc",
        "terms_url": "https://bean.example/terms",
        "support_url": "mailto:help@bean.example",
        "terms_text": "Points last two years.",
        "tier-0-name": "Green",
        "tier-0-threshold": "0",
        "tier-0-earn_multiplier": "1",
        "tier-0-discount_percent": "0",
        "tier-1-name": "Gold",
        "tier-1-threshold": "5000",
        "tier-1-earn_multiplier": "1.5",
        "tier-1-discount_percent": "10",
        "tier-2-name": "Silver",
        "tier-2-threshold": "1000",
        "tier-2-earn_multiplier": "1.25",
        "tier-2-discount_percent": "5",
        "tier-3-name": "",
        "tier-3-threshold": "",
        "tier-3-earn_multiplier": "1",
        "tier-3-discount_percent": "0",
    }
    data.update(overrides)
    return data


def program_row(app: Flask, slug: str) -> Program | None:
    with runtime(app).sessions() as session:
        program = session.scalar(select(Program).where(Program.slug == slug))
        if program is not None:
            _ = list(program.tiers)
            session.expunge_all()
        return program


def edit_form(client: FlaskClient, slug: str) -> dict[str, str]:
    """The edit form's fields as loaded (hidden version and tier ids included)."""
    page = client.get(f"/console/programs/{slug}").get_data(as_text=True)
    fields: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)" value="([^"]*)"', page):
        fields[name] = value
    fields.update(
        dict(re.findall(r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)"', page))
    )
    fields["terms_text"] = re.search(r"<textarea[^>]*>([^<]*)</textarea>", page).group(1)
    currency = re.search(r"<option selected>([A-Z]{3})</option>", page)
    fields["currency"] = currency.group(1) if currency else ""
    fields.pop("csrf_token", None)
    return {key: value.replace("&amp;", "&") for key, value in fields.items()}


def test_roles_marketer_and_admin_open_programs_support_gets_403(app: Flask):
    demo_program(app)
    marketer = signed_in_client(app, "marketer")
    page = marketer.get("/console/programs")
    assert page.status_code == 200
    assert "Demo Rewards" in page.get_data(as_text=True)
    assert marketer.get("/console/programs/demo").status_code == 200
    assert signed_in_client(app, "admin").get(NEW).status_code == 200

    support = signed_in_client(app, "support")
    assert support.get("/console/programs").status_code == 403
    assert support.get("/console/programs/demo").status_code == 403
    refused = support.post("/console/programs/demo", data={"name": "Hijacked"})
    assert refused.status_code in (400, 403)
    assert program_row(app, "demo").name == "Demo Rewards"
    assert [row.subject for row in audits(app, "console.forbidden")] == [
        "GET /console/programs",
        "GET /console/programs/demo",
    ] + (["POST /console/programs/demo"] if refused.status_code == 403 else [])


def test_create_a_program_with_tiers_from_the_form(app: Flask):
    client = signed_in_client(app, "marketer")
    answer = post_form(client, NEW, form())
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/console/programs/coffee-club?created=1")

    program = program_row(app, "coffee-club")
    assert program is not None
    assert (program.name, program.organization, program.points_label) == (
        "Coffee Club",
        "Bean & Co.",
        "Beans",
    )
    assert (program.currency, program.points_per_currency_unit, program.point_value) == (
        "EUR",
        Decimal(2),
        Decimal("0.005"),
    )
    assert program.points_validity_days == 730
    assert program.foreground_color == "#ffffff"  # stored lower-case
    assert program.support_url == "mailto:help@bean.example"
    tiers = [(t.name, t.threshold, t.earn_multiplier, t.discount_percent) for t in program.tiers]
    assert tiers == [
        ("Green", 0, Decimal(1), Decimal(0)),
        ("Silver", 1000, Decimal("1.25"), Decimal(5)),
        ("Gold", 5000, Decimal("1.5"), Decimal(10)),
    ]
    # Wallet identifiers come from the gateway's credentials, never from the operator.
    signer = runtime(app).credentials.apple_signer
    assert (program.apple_pass_type_id, program.apple_team_id) == (
        signer.pass_type_id,
        signer.team_id,
    )
    assert program.google_issuer_id == DEV_GOOGLE_ISSUER_ID
    assert program.version == 1

    created = audits(app, "program.created")
    assert len(created) == 1 and created[0].subject == "program:coffee-club"
    assert created[0].details["after"]["currency"] == "EUR"
    assert created[0].actor.startswith("operator:")

    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Program created" in page and "/enroll/coffee-club" in page
    assert "Coffee Club" in client.get("/console/programs").get_data(as_text=True)


def test_the_configured_google_issuer_is_used(make_app):
    app = make_app(GOOGLE_ISSUER_ID="3388000000022222222")
    client = signed_in_client(app, "admin")
    assert post_form(client, NEW, form()).status_code == 302
    assert program_row(app, "coffee-club").google_issuer_id == "3388000000022222222"


def test_bad_input_lists_every_field_keeps_what_was_typed_and_stores_nothing(app: Flask):
    client = signed_in_client(app, "marketer")
    bad = form(
        slug="Coffee Club!",
        name="",
        currency="XYZ",
        points_per_currency_unit="-1",
        point_value="1e9",
        points_validity_days="0",
        totp_digits="4",
        background_color="red",
        terms_url="http://bean.example/terms",
        **{
            "tier-1-earn_multiplier": "50",
            "tier-2-threshold": "5000",
            "tier-2-discount_percent": "120",
        },
    )
    answer = post_form(client, NEW, bad)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    for field in (
        "slug",
        "name",
        "currency",
        "points_per_currency_unit",
        "point_value",
        "points_validity_days",
        "totp_digits",
        "background_color",
        "terms_url",
    ):
        assert f'id="error-{field}"' in page, field
    assert "cannot be negative" in page
    assert "Use a multiplier" in page or "at most 10" in page
    assert "Two tiers cannot start at the same points." in page
    assert "Use at most 100" in page
    # What was typed is still there.
    assert 'value="Coffee Club!"' in page and 'value="-1"' in page and 'value="50"' in page
    assert "Some fields need attention" in page
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Program)) == 0
    assert audits(app, "program.created") == []


def test_tiers_must_start_at_zero_and_names_are_unique(app: Flask):
    client = signed_in_client(app, "marketer")
    no_zero = post_form(client, NEW, form(**{"tier-0-threshold": "10"}))
    assert no_zero.status_code == 422
    assert "The first tier must start at 0 points" in no_zero.get_data(as_text=True)
    same_name = post_form(client, NEW, form(**{"tier-2-name": "gold"}))
    assert same_name.status_code == 422
    assert "Two tiers cannot have the same name." in same_name.get_data(as_text=True)
    none = post_form(
        client,
        NEW,
        form(**{f"tier-{i}-{k}": "" for i in range(3) for k in ("name", "threshold")}),
    )
    assert none.status_code == 422
    assert "at least one tier" in none.get_data(as_text=True)
    assert program_row(app, "coffee-club") is None


def test_a_slug_in_use_is_a_field_error(app: Flask):
    demo_program(app)
    client = signed_in_client(app, "admin")
    answer = post_form(client, NEW, form(slug="demo"))
    assert answer.status_code == 422
    assert "Another program already uses this slug" in answer.get_data(as_text=True)


def test_edit_changes_only_what_changed_audits_it_and_refreshes_passes(app: Flask):
    demo_program(app)
    enroll_member(app, balance=100)
    client = signed_in_client(app, "marketer")
    fields = edit_form(client, "demo")
    assert fields["version"] == "1" and fields["name"] == "Demo Rewards"
    fields["name"] = "Demo Rewards Plus"
    fields["points_per_currency_unit"] = "3"
    answer = post_form(client, "/console/programs/demo", fields)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert "saved=1" in answer.headers["Location"] and "refresh=" in answer.headers["Location"]

    program = program_row(app, "demo")
    assert (program.name, program.points_per_currency_unit, program.version) == (
        "Demo Rewards Plus",
        Decimal(3),
        2,
    )
    edited = audits(app, "program.edited")
    assert len(edited) == 1
    assert edited[0].details["before"] == {
        "name": "Demo Rewards",
        "points_per_currency_unit": "1",
    }
    assert edited[0].details["after"] == {
        "name": "Demo Rewards Plus",
        "points_per_currency_unit": "3",
    }
    with runtime(app).sessions() as session:
        refreshes = list(session.scalars(select(PassRefresh)))
    assert len(refreshes) == 1 and refreshes[0].total == 2  # the member's Apple and Google pass
    assert f"refresh={refreshes[0].id}" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Changes saved." in page and "Issued passes are being updated" in page
    if "console.refresh_progress" in app.view_functions:  # the branding pages' progress bar
        with app.test_request_context():
            progress = url_for("console.refresh_progress", slug="demo", refresh_id=refreshes[0].id)
        assert f'href="{progress}" id="refresh-progress-link"' in page


def test_an_edit_that_does_not_show_on_passes_starts_no_refresh(app: Flask):
    demo_program(app)
    client = signed_in_client(app, "marketer")
    fields = edit_form(client, "demo")
    fields["point_value"] = "0.02"
    answer = post_form(client, "/console/programs/demo", fields)
    assert answer.status_code == 302
    assert "refresh=" not in answer.headers["Location"]
    same = post_form(client, "/console/programs/demo", edit_form(client, "demo"))
    assert "saved=same" in same.headers["Location"]
    with runtime(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(PassRefresh)) == 0
    assert len(audits(app, "program.edited")) == 1


def test_a_stale_form_is_a_conflict_not_a_lost_update(app: Flask):
    demo_program(app)
    first = signed_in_client(app, "marketer", "first@console.example")
    second = signed_in_client(app, "admin", "second@console.example")
    mine, theirs = edit_form(first, "demo"), edit_form(second, "demo")
    mine["name"] = "First's name"
    theirs["points_label"] = "Stars"
    assert post_form(first, "/console/programs/demo", mine).status_code == 302
    late = post_form(second, "/console/programs/demo", theirs)
    assert late.status_code == 409
    page = late.get_data(as_text=True)
    assert "changed by someone else" in page and 'value="Stars"' in page
    program = program_row(app, "demo")
    assert (program.name, program.points_label, program.version) == ("First's name", "Beans", 2)


def test_code_settings_are_fixed_once_passes_exist(app: Flask):
    client = signed_in_client(app, "admin")
    assert post_form(client, NEW, form()).status_code == 302
    fields = edit_form(client, "coffee-club")
    fields["totp_digits"] = "6"
    assert post_form(client, "/console/programs/coffee-club", fields).status_code == 302
    assert program_row(app, "coffee-club").totp_digits == 6

    demo_program(app)
    enroll_member(app)
    fields = edit_form(client, "demo")
    assert 'id="codes-locked"' in client.get("/console/programs/demo").get_data(as_text=True)
    fields["totp_digits"] = "6"
    fields["totp_period_seconds"] = "60"
    answer = post_form(client, "/console/programs/demo", fields)
    assert answer.status_code == 422
    assert "codes the tills refuse" in answer.get_data(as_text=True)
    program = program_row(app, "demo")
    assert (program.totp_digits, program.totp_period_seconds, program.version) == (8, 30, 1)


def test_renaming_a_tier_keeps_its_members_and_removing_a_used_one_is_refused(app: Flask):
    demo_program(app)
    member = enroll_member(app, tier="Gold")
    client = signed_in_client(app, "marketer")
    fields = edit_form(client, "demo")
    rows = {fields[f"tier-{i}-name"]: i for i in range(3)}
    gold, silver = rows["Gold"], rows["Silver"]

    removed = dict(fields)
    removed[f"tier-{gold}-name"] = removed[f"tier-{gold}-threshold"] = ""
    refused = post_form(client, "/console/programs/demo", removed)
    assert refused.status_code == 422
    assert "member(s) are in tier “Gold”" in refused.get_data(as_text=True)

    # Swap two names at once: members follow their tier, not the name.
    fields[f"tier-{gold}-name"] = "Silver"
    fields[f"tier-{silver}-name"] = "Gold"
    fields[f"tier-{gold}-discount_percent"] = "12"
    answer = post_form(client, "/console/programs/demo", fields)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    program = program_row(app, "demo")
    tiers = {t.name: (t.threshold, t.discount_percent) for t in program.tiers}
    assert tiers == {"Bronze": (0, 0), "Gold": (1000, 5), "Silver": (5000, 12)}
    with runtime(app).sessions() as session:
        assert session.get(Member, member.member_id).tier == "Silver"
    assert "refresh=" in answer.headers["Location"]  # tier names show on passes


def test_a_form_without_a_valid_csrf_token_changes_nothing(app: Flask):
    demo_program(app)
    client = signed_in_client(app, "admin")
    fields = edit_form(client, "demo")
    fields["name"] = "Forged"
    assert client.post("/console/programs/demo", data=fields).status_code == 400
    forged = client.post("/console/programs/demo", data={**fields, "csrf_token": "nope"})
    assert forged.status_code == 400
    assert client.post(NEW, data=form()).status_code == 400
    assert program_row(app, "demo").name == "Demo Rewards"
    assert program_row(app, "coffee-club") is None


def test_unknown_program_is_a_404_page(app: Flask):
    client = signed_in_client(app, "admin")
    assert client.get("/console/programs/nope").status_code == 404
    token = csrf_of(client, NEW)
    answer = client.post("/console/programs/nope", data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 404


def test_in_chromium_create_a_program_adding_tiers_with_the_buttons(make_app, tmp_path):
    """Real headless Chromium at 1280 and 390 px."""
    from tests.browser import chromium_page, served
    from tests.console_helpers import PASSWORD, make_operator
    from tests.fakes.smtp_server import free_port

    port = free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    make_operator(app, "marketer@example.com", "marketer")
    with served(app, port) as base, chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/console/login")
        page.fill("#email", "marketer@example.com")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#welcome")
        page.click("text=Programs and branding")
        page.click("#new-program")
        page.fill("#name", "Juice Bar")
        page.fill("#organization", "Fresh Ltd")
        page.fill("#slug", "juice-bar")
        page.select_option("#currency", "USD")
        page.fill("#points_per_currency_unit", "10")
        page.fill("input[name=tier-0-name]", "Seed")
        page.click("#add-tier")  # a third empty row appears after the two spare rows
        rows = page.locator("#tiers tbody tr")
        assert rows.count() == 4
        page.fill("input[name=tier-1-name]", "Sprout")
        page.fill("input[name=tier-1-threshold]", "800")
        page.fill("input[name=tier-3-name]", "Tree")
        page.fill("input[name=tier-3-threshold]", "4000")
        page.fill("input[name=tier-3-discount_percent]", "7")
        page.fill("input[name=tier-2-name]", "Weed")
        page.fill("input[name=tier-2-threshold]", "100")
        rows.nth(2).locator(".remove-tier").click()  # cleared and hidden: not sent as a tier
        page.screenshot(path=str(tmp_path / "program-new-1280.png"), full_page=True)
        page.click("#save-program")
        page.wait_for_selector("#saved")
        assert "Program created" in page.text_content("#saved")

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.screenshot(path=str(tmp_path / "program-edit-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill("#points_per_currency_unit", "-3")
        page.click("#save-program")
        page.wait_for_selector("#error-points_per_currency_unit")
        assert page.input_value("#points_per_currency_unit") == "-3"

    program = program_row(app, "juice-bar")
    assert program.currency == "USD" and program.points_per_currency_unit == Decimal(10)
    assert [(t.name, t.threshold, t.discount_percent) for t in program.tiers] == [
        ("Seed", 0, Decimal(0)),
        ("Sprout", 800, Decimal(0)),
        ("Tree", 4000, Decimal(7)),
    ]
