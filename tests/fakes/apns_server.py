"""A local HTTP/2 server that answers like APNs: cleartext with prior knowledge, or TLS with ALPN
h2 and a required client certificate (certificate-based provider auth), as Apple serves it."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from types import TracebackType

import h2.config
import h2.connection
import h2.events


@dataclass
class ReceivedPush:
    """One push as the fake received it."""

    path: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class FakeApns:
    """`with FakeApns() as apns:`; tokens in `gone` answer 410 Unregistered, in `failing` 503."""

    gone: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    pushes: list[ReceivedPush] = field(default_factory=list)
    connections: int = 0
    # TLS: (server cert file, server key file, CA file that client certificates must chain to)
    tls: tuple[str, str, str] | None = None
    # Per TLS connection number: the client certificate's subject, as ssl reports it.
    client_subjects: dict[int, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if self.tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._tls_context: ssl.SSLContext | None = None
        if self.tls is not None:
            cert_file, key_file, client_ca = self.tls
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
            context.set_alpn_protocols(["h2"])
            self._tls_context = context
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def __enter__(self) -> FakeApns:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._listener.close()

    def tokens_pushed(self) -> list[str]:
        """Device tokens in the order their pushes arrived."""
        return [push.path.rsplit("/", 1)[1] for push in self.pushes]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        if self._tls_context is not None:
            try:
                sock = self._tls_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()  # e.g. no client certificate, or one from another CA
                return
            if sock.selected_alpn_protocol() != "h2":  # type: ignore[attr-defined]
                sock.close()
                return
            peer = sock.getpeercert() or {}  # type: ignore[attr-defined]
            subject = {key: value for rdn in peer.get("subject", ()) for key, value in rdn}
            with self._lock:
                self.client_subjects[number] = subject
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        with sock:
            while True:
                try:
                    data = sock.recv(65535)
                except OSError:
                    return
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {
                            (k.decode() if isinstance(k, bytes) else k): (
                                v.decode() if isinstance(v, bytes) else v
                            )
                            for k, v in event.headers
                        }
                        streams[event.stream_id] = (headers, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        self._answer(conn, event.stream_id, headers, bytes(body), number)
                sock.sendall(conn.data_to_send())

    def _answer(
        self,
        conn: h2.connection.H2Connection,
        stream_id: int,
        headers: dict[str, str],
        body: bytes,
        number: int,
    ) -> None:
        path = headers.get(":path", "")
        with self._lock:
            self.pushes.append(ReceivedPush(path, headers, body, number))
        token = path.rsplit("/", 1)[-1]
        if token in self.gone:
            status, reply = 410, {"reason": "Unregistered", "timestamp": 1_700_000_000_000}
        elif token in self.failing:
            status, reply = 503, {"reason": "ServiceUnavailable"}
        else:
            status, reply = 200, None
        payload = json.dumps(reply).encode() if reply else b""
        response_headers = [(":status", str(status)), ("apns-id", f"id-{stream_id}")]
        if payload:
            response_headers.append(("content-type", "application/json"))
        conn.send_headers(stream_id, response_headers, end_stream=not payload)
        if payload:
            conn.send_data(stream_id, payload, end_stream=True)
