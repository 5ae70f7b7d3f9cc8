"""The gateway's own CPU per POS request, in one process, against a bare JSON endpoint.

Run with `python -m bench.pos_cpu [--requests 1200] [--rounds 3]`.

Identify (Apple counter codes) and redeem (1 point, a fresh Idempotency-Key each) go through
the Flask test client into the real app on the bench database (see bench.pos_http for which
database and why it is wiped); the baseline is a bare Flask JSON endpoint driven the same way.
The process's CPU time per request (time.process_time: this process only, so neither the
database server nor other tenants of a shared host count) is printed with its ratio to the
baseline's, medians of the rounds. Steadier than requests/s over HTTP on a noisy host; it sees
Python work only, not round trips. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from bench.pos_http import apple_counters, database_url, prepare_database, seed_members
from gateway import create_app
from gateway.devcerts import generate_dev_chain
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import runtime
from gateway.secret_box import new_key_entry
from gateway.services.issue.demo import ensure_demo
from passes.codes import format_scan, hotp_code


def _baseline() -> FlaskClient:
    app = Flask("baseline")

    @app.post("/json")
    def echo() -> dict[str, object]:
        return {"ok": True}

    return app.test_client()


def _per_request(work: Callable[[int], None], count: int) -> float:
    """CPU microseconds per call of `work`."""
    started = time.process_time()
    for n in range(count):
        work(n)
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    """Seed, then time the baseline, identify and redeem, round after round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--force", action="store_true", help="wipe a database not named *bench*")
    args = parser.parse_args()
    url = database_url()
    engine = prepare_database(url, args.force)
    instance = Path(tempfile.mkdtemp(prefix="bench-cpu-")) / "instance"
    generate_dev_chain(instance / "certs")
    app = create_app({
        "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
        "SECRET_KEYS": new_key_entry("bench"), "SECRET_KEY": "bench-secret",
    })
    rt = runtime(app)
    with app.app_context(), rt.sessions() as session:
        program, _ = ensure_demo(session, rt)
        create_store(session, "BENCH", "Bench store", program.slug)
        _, key = create_terminal(session, "BENCH", "bench till")
        digits = program.totp_digits
    auth = {"Authorization": f"Bearer {key}"}
    count, rounds = max(1, args.requests), max(1, args.rounds)
    members = seed_members(app, program, "cpu", rounds + 1, balance=10**9)
    starts = apple_counters(engine, members)
    client, baseline = app.test_client(), _baseline()

    def post(path: str, body: dict[str, object], headers: dict[str, str]) -> None:
        response = client.post(path, json=body, headers=headers)
        if response.status_code >= 300:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")

    def scan(member_index: int, counter: int) -> str:
        member = members[member_index]
        value = starts[member.apple_pass_id] + counter
        return format_scan(member.card_number, hotp_code(member.apple_secret, value, digits=digits))

    def bare(_n: int) -> None:
        baseline.post("/json", json={"scan": "x"})

    def identify_as(member_index: int) -> Callable[[int], None]:
        def work(n: int) -> None:
            post("/pos/v1/identify", {"scan": scan(member_index, n)}, auth)

        return work

    def redeem_in(token: str) -> Callable[[int], None]:
        def work(_n: int) -> None:
            headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            post("/pos/v1/redemptions", {"checkout": token, "points": 1}, headers)

        return work

    results: dict[str, list[float]] = {"baseline": [], "identify": [], "redeem": []}
    for round_ in range(rounds):
        results["baseline"].append(_per_request(bare, count))
        results["identify"].append(_per_request(identify_as(round_), count))
        opened = client.post("/pos/v1/identify", json={"scan": scan(rounds, round_)}, headers=auth)
        token = opened.get_json()["checkout"]["token"]
        results["redeem"].append(_per_request(redeem_in(token), count))
    base = statistics.median(results["baseline"])
    print(f"CPU per request in this process, medians of {rounds} round(s) of {count}:")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:9} {median:7.0f} us  = {median / base:5.1f}x the baseline")


if __name__ == "__main__":
    main()
