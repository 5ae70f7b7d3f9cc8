"""The README's production set-up on local ports: Debian's nginx with deploy/nginx.conf in front
of gunicorn (`-c gunicorn.conf.py`, 2 gthread workers x 4 threads) on 127.0.0.1."""

from __future__ import annotations

import getpass
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.tls_certs import ServerCertificate

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
SITE_CONF = ROOT / "deploy" / "nginx.conf"
# The README's production command line (its "Production" section), less the bind address.
GUNICORN_ARGS = [
    "-c", "gunicorn.conf.py",
    "--workers", "2", "--worker-class", "gthread", "--threads", "4",
    "--keep-alive", "75",
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    """Where the running processes listen, and how to reach them."""

    nginx_port: int
    gunicorn_port: int
    tls: ssl.SSLContext

    def https(self, timeout: float) -> http.client.HTTPSConnection:
        """A connection to nginx (TLS, checked against the test CA)."""
        return http.client.HTTPSConnection(
            "127.0.0.1", self.nginx_port, timeout=timeout, context=self.tls
        )

    def direct(self, timeout: float) -> http.client.HTTPConnection:
        """A connection straight to gunicorn."""
        return http.client.HTTPConnection("127.0.0.1", self.gunicorn_port, timeout=timeout)


def site_config(
    upstream_port: int, https_port: int, http_port: int, cert: ServerCertificate
) -> str:
    """deploy/nginx.conf with local ports and the test certificate (every edit must apply, so
    a changed deploy file fails here instead of silently testing something else)."""
    text = SITE_CONF.read_text()
    edits = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "/etc/ssl/wallet-gateway/fullchain.pem": str(cert.cert_file),
        "/etc/ssl/wallet-gateway/privkey.pem": str(cert.key_file),
    }
    for old, new in edits.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def main_config(directory: Path, site: Path) -> str:
    """A main nginx.conf that runs without root, everything under `directory`."""
    temp = {
        name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")
    }
    for path in temp.values():
        path.mkdir()
    # Started as root (CI containers), workers would switch to nobody, who cannot enter the
    # private tmp dir; they stay the current user instead.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    return f"""
{user}
daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {site};
}}
"""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{name} is not listening on {port}")


@contextmanager
def production_stack(
    directory: Path, cert: ServerCertificate, env: dict[str, str]
) -> Iterator[Stack]:
    """Run gunicorn (with `env`) behind nginx until the block ends; both stopped in any case."""
    gunicorn_port, https_port, http_port = free_port(), free_port(), free_port()
    site = directory / "site.conf"
    site.write_text(site_config(gunicorn_port, https_port, http_port, cert))
    conf = directory / "nginx.conf"
    conf.write_text(main_config(directory, site))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS,
             "--bind", f"127.0.0.1:{gunicorn_port}", "gateway:create_app()"],
            cwd=ROOT, env={**os.environ, **env},
        )
        processes.append(gunicorn)
        nginx = subprocess.Popen(
            [str(NGINX), "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
        )
        processes.append(nginx)
        _wait_listening(gunicorn_port, gunicorn, "gunicorn")
        _wait_listening(https_port, nginx, "nginx")
        tls = ssl.create_default_context(cafile=str(cert.ca_file))
        yield Stack(https_port, gunicorn_port, tls)
    finally:
        for process in reversed(processes):
            _stop(process)
