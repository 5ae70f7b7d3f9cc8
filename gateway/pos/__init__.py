"""The POS core: identify, checkouts, redemptions, holds, accruals, refunds, idempotency, lockout.

Each use case owns its transaction; what differs by database goes through one store interface
(`gateway.pos.store`), chosen once at start-up.
"""
