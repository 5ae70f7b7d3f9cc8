"""Kill switches: one reward off or on, or every redemption of a program paused or resumed.

Nothing is cached anywhere: the POS reads `Reward.enabled` and `Program.redemptions_enabled`
in the same statement as the card on every request, so a switch acts at the next request on
every worker and every host once this transaction commits.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.models.program import Program, Reward
from gateway.services.operate.audit_trail import record_change
from gateway.services.operate.rewards import find_program, find_reward, reward_retired


def set_reward_enabled(session: Session, actor: str, slug: str, code: str, enabled: bool) -> Reward:
    """Switch one reward on or off; setting the state it already has changes nothing. Commits.

    A retired reward stays off: switching it on is 409 `reward_retired`."""
    program = find_program(session, slug)
    reward = find_reward(session, program, code)
    if enabled and reward.retired_at is not None:
        raise reward_retired(reward)
    # Conditional: of two concurrent clicks only the one that changes the state is audited.
    switched = session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.enabled == (not enabled))
        .values(enabled=enabled)
        .execution_options(synchronize_session=False)
    )
    if getattr(switched, "rowcount", 0) == 1:
        record_change(
            session,
            actor,
            "reward.enabled" if enabled else "reward.disabled",
            f"reward:{reward.id}",
            before={"enabled": not enabled},
            after={"enabled": enabled},
            program=program.slug,
            code=reward.code,
        )
    session.commit()
    session.refresh(reward)
    return reward


def set_redemptions_enabled(session: Session, actor: str, slug: str, enabled: bool) -> Program:
    """Pause (False) or resume (True) every redemption of the program; setting the state it
    already has changes nothing. Accruals go on while redemptions are paused. Commits."""
    program = find_program(session, slug)
    switched = session.execute(
        update(Program)
        .where(Program.id == program.id, Program.redemptions_enabled == (not enabled))
        .values(redemptions_enabled=enabled)
        .execution_options(synchronize_session=False)
    )
    if getattr(switched, "rowcount", 0) == 1:
        record_change(
            session,
            actor,
            "program.redemptions_resumed" if enabled else "program.redemptions_paused",
            f"program:{program.id}",
            before={"redemptions_enabled": not enabled},
            after={"redemptions_enabled": enabled},
            program=program.slug,
        )
    session.commit()
    session.refresh(program)
    return program
