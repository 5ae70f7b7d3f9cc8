"""The till-facing side: POS protocol v1 blueprint, client SDK, vendor translation.

This package imports nothing on its own: `pos_adapter.client` (the till SDK, also shipped alone
as `wallet-gateway-pos-client` from sdk/) needs only `requests`, while the server side
(`pos_adapter.blueprints.register`, `api`, `auth`, `docs`) needs Flask and the gateway.
"""
