"""A TCP proxy the tests can cut: a process pointed at it instead of a service
(a worker's ``ESTOQUE_DATABASE_URL``, say) loses that service the moment the
test says so, while the service itself, and everyone else using it, carries on.

    proxy = TcpProxy("127.0.0.1", 5432)   # listens on proxy.port at once
    proxy.cut()       # open connections reset, new ones reset as soon as accepted
    proxy.restore()   # forwards again (the client reconnects as it would after an outage)
    proxy.stop()

Standard library only: one thread accepts; per connection, two threads pump
bytes (one each way) and one closes both ends when they are done.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

# SO_LINGER with a zero timeout: close() sends a reset, so the peer's next read
# or write fails at once (as when a server dies), not after a graceful shutdown.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    with contextlib.suppress(OSError):
        # Wakes a thread blocked reading it (close() alone would not, on Linux);
        # sends nothing: the reset comes with close().
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to (``host``, ``target_port``) until cut."""

    def __init__(self, host: str, target_port: int, port: int | None = None):
        self.target = (host, target_port)
        self._cut = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", port or 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._listener.settimeout(0.2)  # lets the accept loop see stop()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True
        )
        self._acceptor.start()

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def cut(self) -> None:
        """Reset every open connection; from now on each new one is reset as
        soon as it is accepted (a client fails at once, it does not hang)."""
        self._cut.set()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        self._cut.clear()

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        self._acceptor.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)  # the service itself is down: the client sees that too
            return
        upstream.settimeout(None)
        client.settimeout(None)
        with self._lock:
            if self._cut.is_set():
                _reset(client)
                _reset(upstream)
                return
            self._open |= {client, upstream}
        done = threading.Semaphore(0)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink, done), daemon=True).start()
        threading.Thread(target=self._close_when_done, args=(client, upstream, done), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, done: threading.Semaphore) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)  # end of stream: pass the half-close on, keep what is in flight
        except OSError:
            # Reset by cut() or by either end: the connection is over both ways.
            _reset(source)
            _reset(sink)
        done.release()

    def _close_when_done(
        self, client: socket.socket, upstream: socket.socket, done: threading.Semaphore
    ) -> None:
        done.acquire()
        done.acquire()
        with self._lock:
            self._open -= {client, upstream}
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()
