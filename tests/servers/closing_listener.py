"""A port on 127.0.0.1 that accepts every TCP connection, counts it and hangs up at once: a backend that
is not there to talk to, for tests that check how often a client tries (each retry is one more connection)
instead of how long it took."""

from __future__ import annotations

import contextlib
import socket
import threading


class ClosingListener:
    """Accepts connections on `port` and closes each at once; `connections` says how many came.

    A client learns that its connection was closed only after it was accepted and counted, so once the
    client has reported its failure, every attempt it made is in the count."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self._lock = threading.Lock()
        self._connections = 0
        self._thread = threading.Thread(target=self._accept, name="closing-listener", daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def __enter__(self) -> ClosingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=10)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._socket.accept()
                with self._lock:
                    self._connections += 1
                connection.close()
