"""A TCP forwarder in a thread, in front of a real database: `cut()` drops every connection
and refuses new ones (the database host "goes away"), `restore()` lets them through again."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType


class TcpForwarder:
    """127.0.0.1:<port> -> target, byte for byte."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._open = True
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpForwarder:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()

    def cut(self) -> None:
        """Close every forwarded connection and refuse new ones."""
        with self._lock:
            self._open = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._open = True

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = not self._open
            if refuse:
                client.close()
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            client.close()
            upstream.close()
