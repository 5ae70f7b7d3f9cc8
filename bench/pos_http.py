"""POS protocol over real HTTP: identify and redeem against a bare Flask JSON endpoint.

Run with `python -m bench.pos_http [--seconds S] [--connections 8] [--large-cards 1000000]`.

Both apps are served by gunicorn with the same settings (2 gthread workers by default) and
driven from a second process (`wrk` when installed, else a Python keep-alive driver) at
8 concurrent connections (by default each its own till: a terminal key of the same store), one
run after the other in the same session, so the printed ratios survive a noisy machine. The
machine's busy CPU time per request is printed too: the host's steal is not in it, so its ratio
is the steadier one on a shared host. The database is GATEWAY_DATABASE_URL, else
BENCH_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/bench (created when
missing). Its schema is dropped and rebuilt, so the bench refuses a database whose name lacks
"bench" unless --force.

Workloads: (a) the baseline POST /json; (b) POST /pos/v1/identify with fresh codes: Google
passes (TOTP; every request a member not scanned before) and Apple passes (counter codes; each
connection cycles over its own members and sends the next counter's code); (c) POST
/pos/v1/redemptions of 1 point with a unique Idempotency-Key per request. Then identify latency
with 1,000 cards in the program vs 1,000,000: the extra cards are bulk-inserted rows (a filler
member and a card row each, no passes or accounts), since only the card-number index matters
for the lookup. Two hand-written reference endpoints on the baseline's server (a card SELECT
and an INSERT on a bare connection, in one or two round trips) show what the machine allows.
The figures are printed with the targets; nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import String, cast, func, insert, literal, select, text
from sqlalchemy.engine import Engine, make_url

from bench.baseline_app import REFERENCE_DSN_ENV, REFERENCE_TABLE
from gateway import create_app
from gateway.adapters.crm import CrmMemberRecord
from gateway.db import make_engine
from gateway.devcerts import generate_dev_chain
from gateway.migrate import upgrade_to_head
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.program import Program
from gateway.pos.terminals import create_store, create_terminal
from gateway.runtime import Runtime, runtime
from gateway.secret_box import new_key_entry
from gateway.services.issue.demo import ensure_demo
from gateway.services.issue.issuance import (
    ContactFacts,
    card_of,
    code_secret_purpose,
    ensure_member,
    pass_of,
)
from passes.codes import format_scan, hotp_code, totp_code
from pos_adapter.client import PosClient

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "identify": (0.35, 15.0),  # share of the baseline's requests/s, p99 in ms
    "redeem": (0.25, 20.0),
}
SCALE_TARGET = 1.5
GOOGLE_MARGIN = 4
SMALL_CARDS = 1_000
REDEEM_BALANCE = 5_000_000
BATCH = 200

LUA_DRIVER = r"""
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  keyed = args[3] == "1"
  run_id = args[4]
  local a = assert(io.open(args[2] .. tid .. ".auth", "r"))
  auth = a:read("*l")
  a:close()
  bodies = {}
  local f = assert(io.open(args[2] .. tid .. ".txt", "r"))
  for line in f:lines() do bodies[#bodies + 1] = line end
  f:close()
  count = #bodies
  sent = 0
  -- wrk calls request() once on the first thread to check it before the run: that call
  -- must not use up a one-time code.
  verifying = tid == 0
end

function request()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
  if verifying then
    verifying = false
    return wrk.format("POST", path, headers, bodies[1])
  end
  sent = sent + 1
  if keyed then headers["Idempotency-Key"] = run_id .. "-" .. tid .. "-" .. sent end
  return wrk.format("POST", path, headers, bodies[((sent - 1) % count) + 1])
end

function done(summary, latency, requests)
  local exhausted = 0
  for _, t in ipairs(threads) do
    if t:get("sent") > t:get("count") then exhausted = exhausted + 1 end
  end
  local e = summary.errors
  for _, t in ipairs(threads) do
    local sample = t:get("error_sample")
    if sample then io.write("WRK_ERROR " .. sample .. "\n") end
  end
  io.write(string.format("WRK_RESULT %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), exhausted))
end
"""

# Appended with --show-errors: keeps the first non-2xx answer of each connection (wrk then
# parses every answer, which costs a little, so it is off for measurements).
LUA_ERRORS = r"""
function response(status, headers, body)
  if status >= 300 and not error_sample then
    error_sample = status .. " " .. string.gsub(body, "\n", " ")
  end
end
"""


@dataclass
class Workload:
    """Requests for one run: per connection, the JSON bodies to send in order."""

    label: str
    path: str
    bodies: list[list[str]]
    auth: list[str]  # Authorization per connection (cycled)
    keyed: bool = False
    fresh: bool = False  # bodies carry one-time codes: reusing one is an error


@dataclass
class Result:
    """What a run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int
    exhausted: int = 0
    cpu_us: float = 0.0  # busy CPU time of the whole machine per request (servers, DB, driver)
    steal: float = 0.0  # share of the run's CPU time the host took away (a noise gauge)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def cpu_times() -> tuple[int, int]:
    """Busy and stolen CPU ticks of the machine so far (/proc/stat; zeros elsewhere)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq, steal


@dataclass
class BenchMember:
    """A seeded member and the raw code secrets its phone would hold."""

    card_number: str
    apple_pass_id: int
    apple_secret: bytes
    google_secret: bytes


# --- database and seeding ---------------------------------------------------------------------


def database_url() -> str:
    """GATEWAY_DATABASE_URL, else BENCH_DATABASE_URL, else the local `bench` database."""
    return (
        os.environ.get("GATEWAY_DATABASE_URL")
        or os.environ.get("BENCH_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def prepare_database(url: str, force: bool) -> Engine:
    """Create the database if missing, drop its schema, and migrate to head."""
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in Path(name).name and not force:
        sys.exit(f"refusing to wipe database {name!r}: its name lacks 'bench' (use --force)")
    if parsed.get_backend_name() == "postgresql":
        admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        if name and Path(name).exists():
            Path(name).unlink()
        engine = make_engine(url)
    upgrade_to_head(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(
                f"CREATE TABLE {REFERENCE_TABLE} (id bigserial PRIMARY KEY,"
                " card_id bigint NOT NULL, token text NOT NULL UNIQUE,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            ))
    return engine


def reference_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (for the reference endpoints)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seed_members(
    app: Flask, program: Program, prefix: str, count: int, balance: int = 0
) -> list[BenchMember]:
    """Members digitized from CRM records through the enrollment services."""
    rt = runtime(app)
    members: list[BenchMember] = []
    with app.app_context(), rt.sessions() as session:
        program = session.merge(program)
        pending: list[Member] = []
        for n in range(count):
            crm = CrmMemberRecord(
                crm_id=f"{prefix}-{n}", email=f"{prefix}-{n}@bench.example", phone=None,
                name=f"Bench Member{n}", card_number=None, balance=balance, tier="Bronze",
                discount_percent=0,
            )
            facts = ContactFacts("email", crm.email or "", crm.name, "en", True, False, "api", "b")
            member, _ = ensure_member(session, rt.secret_box, program, crm, facts)
            pending.append(member)
            if len(pending) == BATCH or n == count - 1:
                session.commit()
                members.extend(_bench_member(session, rt, member) for member in pending)
                pending = []
    return members


def _bench_member(session: Any, rt: Runtime, member: Member) -> BenchMember:
    card = card_of(session, member)
    apple, google = pass_of(card, "apple"), pass_of(card, "google")
    return BenchMember(
        card_number=card.number,
        apple_pass_id=apple.id,
        apple_secret=rt.secret_box.open(apple.code_secret, code_secret_purpose(apple.serial)),
        google_secret=rt.secret_box.open(google.code_secret, code_secret_purpose(google.serial)),
    )


def card_count(engine: Engine, program_id: int) -> int:
    """Cards of the program."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(Card.program_id == program_id)) or 0)


def fill_cards(engine: Engine, program_id: int, total: int, chunk: int = 200_000) -> int:
    """Bulk-insert filler members and cards (no passes, no accounts) up to `total` cards."""
    current = card_count(engine, program_id)
    while current < total:
        size = min(chunk, total - current)
        with engine.begin() as conn:
            before = int(conn.scalar(select(func.coalesce(func.max(Member.id), 0))) or 0)
            series = func.generate_series(current + 1, current + size).column_valued("g")
            conn.execute(
                insert(Member).from_select(
                    ["program_id", "crm_id", "name", "tier"],
                    select(
                        literal(program_id),
                        literal("filler-").concat(cast(series, String)),
                        literal("Filler"),
                        literal("Bronze"),
                    ),
                )
            )
            number = literal("9").concat(func.lpad(cast(Member.id, String), 15, "0"))
            conn.execute(
                insert(Card).from_select(
                    ["program_id", "member_id", "number"],
                    select(Member.program_id, Member.id, number).where(
                        Member.id > before, Member.crm_id.like("filler-%")
                    ),
                )
            )
        current += size
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE members"))
        conn.execute(text("ANALYZE cards"))
    return current


def apple_counters(engine: Engine, members: list[BenchMember]) -> dict[int, int]:
    """The current counter of each member's Apple pass (what its barcode shows now)."""
    ids = [member.apple_pass_id for member in members]
    with engine.connect() as conn:
        rows = conn.execute(
            select(WalletPass.id, WalletPass.code_counter).where(WalletPass.id.in_(ids))
        )
        return {int(row[0]): int(row[1]) for row in rows}


# --- request lists ----------------------------------------------------------------------------


def _scan_body(card_number: str, code: str) -> str:
    return json.dumps({"scan": format_scan(card_number, code)})


def apple_identify_bodies(
    engine: Engine, groups: list[list[BenchMember]], per_connection: int, digits: int
) -> list[list[str]]:
    """Per connection: its members in turn, each with the code of its next counter."""
    counters = apple_counters(engine, [member for group in groups for member in group])
    lists = []
    for group in groups:
        bodies = []
        for n in range(per_connection):
            member = group[n % len(group)]
            counter = counters[member.apple_pass_id] + n // len(group)
            bodies.append(_scan_body(member.card_number,
                                     hotp_code(member.apple_secret, counter, digits=digits)))
        lists.append(bodies)
    return lists


def google_identify_bodies(
    members: list[BenchMember], connections: int, digits: int, period: int, after_step: int
) -> tuple[list[list[str]], int]:
    """Per connection: members not scanned in this TOTP step, each with its current code.

    Waits for a step after `after_step`, so every member's code is fresh again (the gateway
    accepts each (pass, step) once); returns the bodies and the step they were made for.
    """
    while int(time.time()) // period <= after_step:
        time.sleep(0.1)
    now = int(time.time())
    bodies = [
        _scan_body(member.card_number,
                   totp_code(member.google_secret, now, period=period, digits=digits))
        for member in members
    ]
    return [bodies[c::connections] for c in range(connections)], now // period


# --- serving ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], args: argparse.Namespace) -> Iterator[int]:
    """Serve `app_spec` with the bench's gunicorn settings; yields the port."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads),
        "--bind", f"127.0.0.1:{port}",
        "--keep-alive", "75",
        "--backlog", "512",
        "--log-level", "warning",
        app_spec,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        _wait_ready(port, process)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn on port {port} did not become ready")


# --- load drivers (always a second process) -------------------------------------------------------


def drive(
    port: int, workload: Workload, seconds: int, work_dir: Path, driver: str, show_errors: bool
) -> Result:
    """Run a workload from a second process, and what the machine's CPUs spent on it.

    CPU time per request does not count time the host steals from this virtual machine, so
    its ratio to the baseline's is steadier than the ratio of requests/s on a shared host.
    """
    busy_before, steal_before = cpu_times()
    result = _drive(port, workload, seconds, work_dir, driver, show_errors)
    busy_after, steal_after = cpu_times()
    busy, stolen = busy_after - busy_before, steal_after - steal_before
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    cpu_us = busy / ticks / result.requests * 1e6 if result.requests else 0.0
    return replace(result, cpu_us=cpu_us, steal=stolen / (busy + stolen) if busy else 0.0)


def _drive(
    port: int, workload: Workload, seconds: int, work_dir: Path, driver: str, show_errors: bool
) -> Result:
    folder = work_dir / f"run-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    for n, bodies in enumerate(workload.bodies):
        (folder / f"bodies-{n}.txt").write_text("\n".join(bodies) + "\n")
        (folder / f"bodies-{n}.auth").write_text(workload.auth[n % len(workload.auth)] + "\n")
    connections = len(workload.bodies)
    if driver == "wrk":
        script = folder / "driver.lua"
        script.write_text(LUA_DRIVER + (LUA_ERRORS if show_errors else ""))
        command = [
            "wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}", "--",
            workload.path, str(folder / "bodies-"), "1" if workload.keyed else "0",
            uuid.uuid4().hex[:8],
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        for row in output.splitlines():
            if row.startswith("WRK_ERROR "):
                print(f"  {workload.label}: first error on a connection: {row[10:300]}")
        line = next(row for row in output.splitlines() if row.startswith("WRK_RESULT"))
        requests, micros, status, socket_errors, p50, p99, exhausted = map(int, line.split()[1:])
        return Result(requests, micros / 1e6, p50 / 1000, p99 / 1000,
                      status + socket_errors, exhausted if workload.fresh else 0)
    spec = folder / "spec.json"
    spec.write_text(json.dumps({
        "port": port, "path": workload.path, "seconds": seconds,
        "auths": [workload.auth[n % len(workload.auth)] for n in range(connections)],
        "keyed": workload.keyed, "show_errors": show_errors,
        "files": [str(folder / f"bodies-{n}.txt") for n in range(connections)],
    }))
    output = subprocess.run(
        [sys.executable, "-m", "bench.pos_http", "--drive", str(spec)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    data = json.loads(output.strip().splitlines()[-1])
    for sample in data["error_samples"]:
        print(f"  {workload.label}: first error on a connection: {sample[:300]}")
    return Result(data["requests"], data["seconds"], data["p50_ms"], data["p99_ms"],
                  data["failed"], data["exhausted"] if workload.fresh else 0)


def python_driver(spec_path: str) -> None:
    """The Python load driver: one keep-alive connection per thread, latencies per request."""
    spec = json.loads(Path(spec_path).read_text())
    lists = [Path(name).read_text().splitlines() for name in spec["files"]]
    run_id = uuid.uuid4().hex[:8]
    latencies: list[list[float]] = [[] for _ in lists]
    failed = [0] * len(lists)
    exhausted = [0] * len(lists)
    samples: list[str] = []
    start_gate = threading.Barrier(len(lists) + 1)
    deadline = [0.0]

    def connection(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=10)
        start_gate.wait()
        for sent, body in enumerate(lists[n], start=1):
            if time.perf_counter() >= deadline[0]:
                break
            headers = {"Content-Type": "application/json", "Authorization": spec["auths"][n]}
            if spec["keyed"]:
                headers["Idempotency-Key"] = f"{run_id}-{n}-{sent}"
            began = time.perf_counter()
            try:
                conn.request("POST", spec["path"], body=body.encode(), headers=headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except OSError as exc:
                conn.close()
                status, answer = 0, str(exc).encode()
            latencies[n].append(time.perf_counter() - began)
            if not 200 <= status < 300:
                if spec["show_errors"] and not failed[n]:
                    samples.append(f"{status} {answer.decode(errors='replace')}")
                failed[n] += 1
        else:
            exhausted[n] = 1
        conn.close()

    threads = [threading.Thread(target=connection, args=(n,)) for n in range(len(lists))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + float(spec["seconds"])
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = sorted(value for values in latencies for value in values)

    def percentile(q: float) -> float:
        if not merged:
            return 0.0
        return merged[min(len(merged) - 1, math.ceil(q * len(merged)) - 1)] * 1000

    print(json.dumps({
        "requests": len(merged), "seconds": elapsed, "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99), "failed": sum(failed), "exhausted": sum(exhausted),
        "error_samples": samples,
    }))


# --- the benchmark ----------------------------------------------------------------------------


@dataclass
class Series:
    """The rounds of one workload; figures are medians over rounds."""

    label: str
    rounds: list[Result]

    @property
    def rate(self) -> float:
        """Median requests per second."""
        return statistics.median(result.rate for result in self.rounds)

    @property
    def p50_ms(self) -> float:
        """Median of the rounds' p50 latencies."""
        return statistics.median(result.p50_ms for result in self.rounds)

    @property
    def p99_ms(self) -> float:
        """Median of the rounds' p99 latencies."""
        return statistics.median(result.p99_ms for result in self.rounds)

    @property
    def cpu_us(self) -> float:
        """Median CPU time of the machine per request."""
        return statistics.median(result.cpu_us for result in self.rounds)

    @property
    def steal(self) -> float:
        """The largest share of CPU time stolen by the host in a round."""
        return max(result.steal for result in self.rounds)

    def share_of(self, baseline: Series) -> float:
        """Median over rounds of this rate / the baseline's rate in the same round."""
        pairs = zip(self.rounds, baseline.rounds, strict=True)
        return statistics.median(ours.rate / base.rate for ours, base in pairs if base.rate)

    def cpu_share_of(self, baseline: Series) -> float:
        """Median over rounds of the baseline's CPU per request / this one's: the share of the
        baseline's requests/s the machine could serve if the host took nothing away."""
        pairs = zip(self.rounds, baseline.rounds, strict=True)
        return statistics.median(base.cpu_us / ours.cpu_us for ours, base in pairs if ours.cpu_us)

    def line(self, baseline: Series | None = None,
             target: tuple[float, float] | None = None) -> str:
        """One printed row."""
        row = (f"  {self.label:<32} {self.rate:8.0f} req/s   p50 {self.p50_ms:6.2f} ms   "
               f"p99 {self.p99_ms:6.2f} ms   CPU {self.cpu_us:5.0f} us/req")
        if self.steal >= 0.05:
            row += f" (host took up to {self.steal:.0%})"
        if baseline is not None:
            share = self.share_of(baseline)
            row += f"   {share:6.1%} of baseline (by CPU {self.cpu_share_of(baseline):5.1%})"
            if target is not None:
                share_target, p99_target = target
                met = share >= share_target and self.p99_ms <= p99_target
                row += (f"   (target >= {share_target:.0%}, p99 <= {p99_target:g} ms: "
                        f"{'met' if met else 'MISSED'})")
        failed = sum(result.failed for result in self.rounds)
        exhausted = sum(result.exhausted for result in self.rounds)
        if failed:
            row += f"   [{failed} non-2xx/socket errors: see --show-errors]"
        if exhausted:
            row += f"   [{exhausted} connection run(s) ran out of fresh codes]"
        return row


def _program_codes(app: Flask, program: Program) -> tuple[int, int]:
    with app.app_context(), runtime(app).sessions() as session:
        fresh = session.get(Program, program.id)
        assert fresh is not None
        return fresh.totp_digits, fresh.totp_period_seconds


def run(args: argparse.Namespace) -> None:
    """Seed, serve, drive, print."""
    url = database_url()
    driver = args.driver if args.driver != "auto" else ("wrk" if shutil.which("wrk") else "python")
    seconds, rounds, conns = max(1, round(args.seconds)), max(1, args.rounds), args.connections
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    print(f"gunicorn: {args.workers} {args.worker_class} workers x {args.threads} threads; "
          f"load: {conns} connections from a second process ({driver}) as {args.tills} till(s); "
          f"{os.cpu_count()} CPUs; "
          f"{rounds} round(s) of {seconds} s per workload")
    if driver == "python":
        print("note: the Python driver may saturate before the baseline does; install wrk")
    engine = prepare_database(url, args.force)
    work = Path(tempfile.mkdtemp(prefix="bench-pos-"))
    instance = work / "instance"
    generate_dev_chain(instance / "certs")
    env = {
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_INSTANCE_PATH": str(instance),
        "GATEWAY_SECRET_KEYS": new_key_entry("bench"),
        "GATEWAY_SECRET_KEY": "bench-secret",
    }
    app = create_app({
        "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
        "SECRET_KEYS": env["GATEWAY_SECRET_KEYS"], "SECRET_KEY": env["GATEWAY_SECRET_KEY"],
    })
    rt = runtime(app)
    with app.app_context(), rt.sessions() as session:
        program, _ = ensure_demo(session, rt)
        create_store(session, "BENCH", "Bench store", program.slug)
        terminal_keys = [create_terminal(session, "BENCH", f"bench till {n + 1}")[1]
                         for n in range(max(1, args.tills))]
    # Connection c is till c % tills, as the tills of a busy store (one customer each).
    auth = [f"Bearer {key}" for key in terminal_keys]
    digits, period = _program_codes(app, program)

    started = time.perf_counter()
    apple = seed_members(app, program, "apple", conns * args.apple_per_connection)
    redeemers = seed_members(app, program, "redeem", conns, balance=REDEEM_BALANCE)
    apple_groups = [apple[c::conns] for c in range(conns)]
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        fill_cards(engine, program.id, SMALL_CARDS)
    print(f"seeded {len(apple) + len(redeemers)} members through the services, "
          f"{card_count(engine, program.id)} cards ({time.perf_counter() - started:.0f} s)")

    series: dict[str, Series] = {}
    base_env = {REFERENCE_DSN_ENV: reference_dsn(url)} if postgres else {}
    with gunicorn("bench.baseline_app:app", base_env, args) as base_port, \
            gunicorn("gateway:create_app()", env, args) as gw_port:

        def measure(port: int, workload: Workload, length: int = seconds) -> Result:
            return drive(port, workload, length, work, driver, args.show_errors)

        def identify_apple(label: str, expected_rate: float, length: int = seconds) -> Result:
            # Codes are used once: running out would replay codes and lock the terminal, so the
            # budget is 4x the fastest rate seen so far.
            per_connection = int(expected_rate * length / conns * 4) + 200
            bodies = apple_identify_bodies(engine, apple_groups, per_connection, digits)
            return measure(gw_port, Workload(label, "/pos/v1/identify", bodies, auth,
                                             fresh=True), length)

        def scale_series(label: str, expected_rate: float) -> Series:
            identify_apple(label, expected_rate, max(1, round(args.warmup)))  # warm-up
            return Series(label, [identify_apple(label, expected_rate) for _ in range(rounds)])

        baseline_load = Workload("baseline POST /json", "/json",
                                 [[json.dumps({"scan": "7" * 16 + "-12345678"})]] * conns, auth)
        measure(base_port, baseline_load, max(1, round(args.warmup)))
        _warm_gateway(gw_port, f"/pos/v1/cards/{redeemers[0].card_number}", auth[0], args.warmup)

        small = scale_series(f"identify apple @{SMALL_CARDS:,} cards", args.expected_rate)
        series["scale_small"] = small

        # Every round scans each Google member once, in a new TOTP step; the margin covers
        # Google scans being faster than Apple ones and connections served unevenly.
        wanted = int(small.rate * seconds * GOOGLE_MARGIN) + 100
        google_count = min(wanted, args.max_google_members)
        google_seconds = max(1, min(seconds, int(google_count / max(small.rate, 1.0)
                                                 / GOOGLE_MARGIN)))
        started = time.perf_counter()
        google = seed_members(app, program, "google", google_count)
        print(f"seeded {google_count} Google members for {google_seconds} s of fresh codes "
              f"per round ({time.perf_counter() - started:.0f} s)")

        counters = apple_counters(engine, redeemers)
        checkouts = []
        for n, member in enumerate(redeemers):  # each checkout opened by its connection's till
            key = terminal_keys[n % len(terminal_keys)]
            with PosClient(f"http://127.0.0.1:{gw_port}", key) as pos:
                checkouts.append(pos.identify(format_scan(member.card_number, hotp_code(
                    member.apple_secret, counters[member.apple_pass_id], digits=digits)
                )).checkout.token)
        redeem_load = Workload(
            "redeem 1 point", "/pos/v1/redemptions",
            [[json.dumps({"checkout": token, "points": 1})] for token in checkouts], auth,
            keyed=True,
        )

        references = [
            Workload(label, path, [[json.dumps({"program": program.id,
                                                "scan": f"{member.card_number}-12345678"})]
                                   for member in redeemers], auth)
            for label, path in (("reference: 1 round trip", "/reference/one-trip"),
                                ("reference: 2 round trips", "/reference/two-trips"))
        ] if postgres else []
        runs: dict[str, list[Result]] = {
            "baseline": [], "google": [], "apple": [], "redeem": [], "ref1": [], "ref2": []
        }
        step = 0
        for _ in range(rounds):
            runs["baseline"].append(measure(base_port, baseline_load))
            for name, reference in zip(("ref1", "ref2"), references, strict=False):
                runs[name].append(measure(base_port, reference))
            bodies, step = google_identify_bodies(google, conns, digits, period, step)
            google_load = Workload("identify google (TOTP)", "/pos/v1/identify", bodies, auth,
                                   fresh=True)
            runs["google"].append(measure(gw_port, google_load, google_seconds))
            runs["apple"].append(identify_apple("identify apple (counter)", small.rate))
            runs["redeem"].append(measure(gw_port, redeem_load))
        series["baseline"] = Series("baseline POST /json", runs["baseline"])
        series["identify_google"] = Series("identify google (TOTP)", runs["google"])
        series["identify_apple"] = Series("identify apple (counter)", runs["apple"])
        series["redeem"] = Series("redeem 1 point", runs["redeem"])
        for name, reference in zip(("ref1", "ref2"), references, strict=False):
            series[name] = Series(reference.label, runs[name])

        if args.large_cards > SMALL_CARDS and postgres:
            started = time.perf_counter()
            total = fill_cards(engine, program.id, args.large_cards)
            print(f"bulk-inserted filler cards up to {total:,} "
                  f"({time.perf_counter() - started:.0f} s)")
            fastest = max(small.rate, series["identify_apple"].rate)
            series["scale_large"] = scale_series(f"identify apple @{total:,} cards", fastest)
        elif args.large_cards > SMALL_CARDS:
            print("scale step skipped: the bulk insert of filler cards needs PostgreSQL")

    _report(series, conns, seconds)
    shutil.rmtree(work, ignore_errors=True)


def _warm_gateway(port: int, path: str, auth: str, seconds: float) -> None:
    """Warm the workers (imports, pools, caches) with card lookups."""
    deadline = time.monotonic() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < deadline:
        conn.request("GET", path, headers={"Authorization": auth})
        conn.getresponse().read()
    conn.close()


def _report(series: dict[str, Series], connections: int, seconds: int) -> None:
    baseline = series["baseline"]
    print(f"\nPOS over HTTP, {connections} connections, medians of "
          f"{len(baseline.rounds)} round(s) of {seconds} s (ratios taken within each round):")
    print(baseline.line())
    print(series["identify_google"].line(baseline, TARGETS["identify"]))
    print(series["identify_apple"].line(baseline, TARGETS["identify"]))
    print(series["redeem"].line(baseline, TARGETS["redeem"]))
    if "ref2" in series:
        print("\nWhat this machine allows (hand-written endpoints on the baseline's server: an "
              "indexed card SELECT and an INSERT,\nautocommitted on a bare psycopg connection per "
              "thread, no checks):")
        print(series["ref1"].line(baseline))
        print(series["ref2"].line(baseline))
        for name in ("identify_google", "identify_apple", "redeem"):
            ours, reference = series[name], series["ref2"]
            print(f"  {ours.label} = {ours.share_of(reference):.0%} of the 2-round-trip "
                  f"reference's req/s (by CPU {ours.cpu_share_of(reference):.0%})")
    small, large = series["scale_small"], series.get("scale_large")
    if large is not None and small.p50_ms and small.p99_ms:
        p50_ratio, p99_ratio = large.p50_ms / small.p50_ms, large.p99_ms / small.p99_ms
        print("\nIdentify latency vs cards in the program (the filler cards are bulk-inserted "
              "card + member rows without passes;\nonly the card-number index matters for the "
              "lookup):")
        print(small.line())
        print(large.line())
        verdict = "met" if p50_ratio <= SCALE_TARGET else "MISSED"
        print(f"  ratio large/small: p50 {p50_ratio:.2f}x, p99 {p99_ratio:.2f}x "
              f"(target p50 <= {SCALE_TARGET}x: {verdict})")
    print("\nTargets (informational): identify >= 35% of the baseline's req/s with p99 <= 15 ms;"
          " redeem >= 25% with p99 <= 20 ms;\n1M-card identify latency <= 1.5x the 1k-card one. "
          "'by CPU' is the baseline's CPU time per request over the workload's (all processes, "
          "host steal excluded).")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per workload (medians are printed)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tills", type=int, default=8,
                        help="terminals (keys) the connections take turns with")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--apple-per-connection", type=int, default=16,
                        help="Apple members each connection cycles over")
    parser.add_argument("--max-google-members", type=int, default=20_000,
                        help="cap on Google members seeded for fresh TOTP codes")
    parser.add_argument("--expected-rate", type=float, default=5000.0,
                        help="identify req/s to precompute codes for before the first run")
    parser.add_argument("--large-cards", type=int, default=1_000_000,
                        help="cards for the scale step (0 skips it)")
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--show-errors", action="store_true",
                        help="print the first non-2xx answer of each connection")
    parser.add_argument("--force", action="store_true",
                        help="allow wiping a database whose name lacks 'bench'")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        python_driver(args.drive)
        return
    run(args)


if __name__ == "__main__":
    main()
