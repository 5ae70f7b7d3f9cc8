"""On PostgreSQL with a few thousand analysed members, every member search is an index scan
(the statements EXPLAINed are the ones the service runs; sequential scans stay allowed)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from bench.member_search import KINDS, LEGACY_EVERY, explain, query_of, seed
from gateway.runtime import runtime

# The index each kind's lookup must start from.
INDEX = {
    "email": "uq_members_program_email",
    "phone": "uq_members_program_phone",
    "card_number": "uq_cards_program_id_number",
    "legacy_number": "ix_cards_legacy_number",
}


def test_each_search_kind_uses_its_index(app):
    engine = runtime(app).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (GATEWAY_TEST_DATABASE_URL)")
    program = seed(engine, 5000)

    with sessionmaker(engine)() as session:
        for kind in KINDS:
            plans = explain(session, program.id, query_of(kind, 40 * LEGACY_EVERY))
            assert kind in plans, plans
            for looked_up, plan in plans.items():
                assert "Seq Scan" not in plan, (kind, looked_up, plan)
                assert f"Index Scan using {INDEX[looked_up]}" in plan, (kind, looked_up, plan)
