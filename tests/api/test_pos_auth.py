"""Bearer terminal keys: missing, unknown and revoked keys get 401 `unauthorized`."""

from gateway.pos.terminals import revoke_terminal
from gateway.runtime import runtime


def test_missing_key_is_unauthorized(client):
    response = client.post("/pos/v1/identify", json={"scan": "x"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_unknown_key_is_unauthorized(client, till):
    response = client.get("/pos/v1/cards/1", headers={"Authorization": "Bearer gwt_nope"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_revoked_key_stops_working_at_once(app, till):
    assert till.identify("garbage").status_code == 400
    with app.app_context(), runtime(app).sessions() as session:
        revoke_terminal(session, till.key[:12])
    response = till.identify("garbage")
    assert response.status_code == 401
    assert response.json == {
        "error": {"code": "unauthorized", "message": "unknown or revoked terminal key"}
    }
