"""Console pages: a program's rewards (create, edit, retire) and the kill switches (one reward,
or every redemption of the program). Admins and marketers; the operate services do the work."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.operator import Operator
from gateway.models.program import Program, Reward
from gateway.runtime import request_session
from gateway.services.operate import kill_switches, rewards
from gateway.services.operate.field_errors import FieldErrors

ROLES = ("admin", "marketer")


def _me() -> Operator:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return operator


def _actor() -> str:
    return f"operator:{_me().id}"


def _message(title: str, message: str, status: int) -> ResponseReturnValue:
    return render_template(
        "console/message.html", title=title, message=message, operator=_me()
    ), status


def _failed(error: GatewayError) -> ResponseReturnValue:
    titles = {404: "Not found", 409: "Not possible now"}
    return _message(titles.get(error.status, "Not possible"), error.message, error.status)


def _list_url(slug: str) -> str:
    return url_for("console.rewards", program=slug)


@bp.get("/rewards", endpoint="rewards")
@require_role(*ROLES)
def rewards_list() -> ResponseReturnValue:
    """The chosen program's rewards with stock, budget and state, and both kill switches."""
    session = request_session()
    programs = rewards.list_programs(session)
    if not programs:
        return render_template("console/rewards.html", operator=_me(), programs=[], program=None)
    wanted = request.args.get("program", "")
    program = next((p for p in programs if p.slug == wanted), programs[0])
    if wanted and program.slug != wanted:
        return _message("Not found", f"There is no program {wanted!r}.", 404)
    return render_template(
        "console/rewards.html",
        operator=_me(),
        programs=programs,
        program=program,
        rewards=rewards.list_rewards(session, program.slug),
    )


def _form_values(reward: Reward | None) -> dict[str, str]:
    """What the form shows: the reward's values as text (empty for a new reward)."""
    if reward is None:
        return {name: "" for name in rewards.FIELDS}
    typed = {}
    for name in rewards.FIELDS:
        value = getattr(reward, name)
        typed[name] = "" if value is None else str(value)
    if reward.discount_percent is not None:
        typed["discount_percent"] = f"{reward.discount_percent.normalize():f}"
    return typed


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in rewards.FIELDS}


def _form(
    program: Program,
    *,
    reward: Reward | None,
    typed: dict[str, str],
    version: str = "",
    stock_was: str = "",
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return render_template(
        "console/reward_form.html",
        operator=_me(),
        program=program,
        reward=reward,
        typed=typed,
        version=version,
        stock_was=stock_was,
        errors=errors or {},
        problem=problem,
        tiers=[tier.name for tier in program.tiers],
    ), status


@bp.route("/rewards/<slug>/new", methods=["GET", "POST"])
@require_role(*ROLES)
def rewards_new(slug: str) -> ResponseReturnValue:
    """A new reward of the program."""
    session = request_session()
    try:
        program = rewards.find_program(session, slug)
    except GatewayError as error:
        return _failed(error)
    if request.method == "GET":
        return _form(program, reward=None, typed=_form_values(None))
    typed = _typed()
    try:
        reward = rewards.create_reward(session, _actor(), slug, typed)
    except FieldErrors as error:
        return _form(program, reward=None, typed=typed, errors=error.fields, status=error.status)
    except GatewayError as error:
        return _failed(error)
    flash(f"{reward.name} was created and is on offer.")
    return redirect(_list_url(slug))


@bp.route("/rewards/<slug>/edit/<code>", methods=["GET", "POST"])
@require_role(*ROLES)
def rewards_edit(slug: str, code: str) -> ResponseReturnValue:
    """Edit a reward; the form carries the version it was opened at."""
    session = request_session()
    try:
        program = rewards.find_program(session, slug)
        reward = rewards.find_reward(session, program, code)
    except GatewayError as error:
        return _failed(error)
    if reward.retired_at is not None:
        return _failed(rewards.reward_retired(reward))
    if request.method == "GET":
        typed = _form_values(reward)
        return _form(
            program,
            reward=reward,
            typed=typed,
            version=str(reward.version),
            stock_was=typed["stock"],
        )
    typed = _typed()
    typed["code"] = reward.code
    version = request.form.get("version", "")
    stock_was = request.form.get("stock_was", "")
    changes = {name: typed[name] for name in rewards.EDITABLE}
    # Redemptions take stock without a new version: a stock left as it was shown is not sent,
    # or saving another field would put back the units sold since the form was opened.
    if typed["stock"].strip() == stock_was.strip():
        del changes["stock"]
    try:
        saved = rewards.edit_reward(session, _actor(), slug, code, version, changes)
    except FieldErrors as error:
        return _form(
            program,
            reward=reward,
            typed=typed,
            version=version,
            stock_was=stock_was,
            errors=error.fields,
            status=error.status,
        )
    except GatewayError as error:
        if error.code != "edit_conflict":
            return _failed(error)
        session.expire_all()
        current = rewards.find_reward(session, rewards.find_program(session, slug), code)
        return _form(
            program,
            reward=current,
            typed=typed,
            version=version,
            stock_was=stock_was,
            problem=error.message,
            status=error.status,
        )
    flash(f"{saved.name} was saved.")
    return redirect(_list_url(slug))


@bp.post("/rewards/<slug>/retire/<code>")
@require_role(*ROLES)
def rewards_retire(slug: str, code: str) -> ResponseReturnValue:
    """Retire a reward: never offered again, kept for history."""
    try:
        reward = rewards.retire_reward(request_session(), _actor(), slug, code)
    except GatewayError as error:
        return _failed(error)
    flash(f"{reward.name} was retired: tills no longer offer it.")
    return redirect(_list_url(slug))


@bp.post("/rewards/<slug>/switch/<code>")
@require_role(*ROLES)
def rewards_switch(slug: str, code: str) -> ResponseReturnValue:
    """One reward's kill switch: the form says which state to set (`on` or `off`)."""
    enabled = request.form.get("state") == "on"
    try:
        reward = kill_switches.set_reward_enabled(request_session(), _actor(), slug, code, enabled)
    except GatewayError as error:
        return _failed(error)
    if reward.enabled:
        flash(f"{reward.name} is on offer again.")
    else:
        flash(f"{reward.name} is switched off: tills refuse it from their next request.")
    return redirect(_list_url(slug))


@bp.post("/rewards/<slug>/redemptions")
@require_role(*ROLES)
def rewards_program_switch(slug: str) -> ResponseReturnValue:
    """The program's kill switch: `state` `paused` stops every redemption, `on` resumes."""
    enabled = request.form.get("state") == "on"
    try:
        program = kill_switches.set_redemptions_enabled(request_session(), _actor(), slug, enabled)
    except GatewayError as error:
        return _failed(error)
    if program.redemptions_enabled:
        flash("Redemptions are allowed again.")
    else:
        flash("All redemptions are paused: tills refuse them from their next request.")
    return redirect(_list_url(slug))
