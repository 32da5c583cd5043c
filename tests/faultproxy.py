"""A TCP proxy the test controls, put between the app and PostgreSQL.

The shared PostgreSQL server is never stopped (other tests use it): faults are
made here instead.

- ``cut()``: close every connection, and close each new one as soon as it is
  accepted (a server that is down, or a network that resets);
- ``stall()``: keep every connection open but forward nothing, and accept new
  ones without answering them (a server or network that went silent);
- ``restore()``: forward again; connections accepted during a stall are
  connected to the server then.

One thread runs a selector loop over every socket; the test's calls are
queued to it and wait (bounded) until it has carried them out.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from types import TracebackType

COMMAND_TIMEOUT = 10.0
UPSTREAM_TIMEOUT = 10.0
CHUNK = 65536


class FaultProxy:
    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.mode = "open"
        self.accepted = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self._wake_read, self._wake_write = socket.socketpair()
        self.selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self.peers: dict[socket.socket, socket.socket] = {}
        self.waiting: list[socket.socket] = []  # accepted during a stall, not yet connected
        self._commands: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()

    # The test's side.

    def cut(self) -> None:
        self._call(self._cut)

    def stall(self) -> None:
        self._call(self._stall)

    def restore(self) -> None:
        self._call(self._restore)

    def close(self) -> None:
        if not self._stopped.is_set():
            self._call(self._stop)
            self._thread.join(timeout=COMMAND_TIMEOUT)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, command: Callable[[], None]) -> None:
        done = threading.Event()
        self._commands.put((command, done))
        self._wake_write.send(b"x")
        if not done.wait(COMMAND_TIMEOUT):
            raise AssertionError(f"the proxy did not carry out {command.__name__} in time")

    # The loop's side.

    def _run(self) -> None:
        while not self._stopped.is_set():
            for key, _events in self.selector.select(timeout=1.0):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    self._wake_read.recv(CHUNK)
                    self._run_commands()
                    if self._stopped.is_set():
                        return
                else:
                    self._forward(key.fileobj)  # type: ignore[arg-type]

    def _run_commands(self) -> None:
        while True:
            try:
                command, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command()
            finally:
                done.set()

    def _accept(self) -> None:
        try:
            client, _address = self.listener.accept()
        except BlockingIOError:
            return
        self.accepted += 1
        if self.mode == "cut":
            _close(client)
        elif self.mode == "stalled":
            self.waiting.append(client)
        else:
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        except OSError:
            _close(client)
            return
        client.settimeout(UPSTREAM_TIMEOUT)
        self.peers[client] = server
        self.peers[server] = client
        self.selector.register(client, selectors.EVENT_READ, "pipe")
        self.selector.register(server, selectors.EVENT_READ, "pipe")

    def _forward(self, source: socket.socket) -> None:
        target = self.peers.get(source)
        if target is None:
            return
        try:
            data = source.recv(CHUNK)
            if data:
                target.sendall(data)
                return
        except OSError:
            pass
        self._drop(source)

    def _drop(self, one: socket.socket) -> None:
        other = self.peers.pop(one, None)
        for sock in (one, other):
            if sock is None:
                continue
            self.peers.pop(sock, None)
            if self.mode != "stalled":
                self.selector.unregister(sock)
            _close(sock)

    def _cut(self) -> None:
        if self.mode != "stalled":
            for sock in self.peers:
                self.selector.unregister(sock)
        for sock in [*self.peers, *self.waiting]:
            _close(sock)
        self.peers.clear()
        self.waiting.clear()
        self.mode = "cut"

    def _stall(self) -> None:
        if self.mode == "open":
            for sock in self.peers:
                self.selector.unregister(sock)
        self.mode = "stalled"

    def _restore(self) -> None:
        if self.mode == "stalled":
            for sock in self.peers:
                self.selector.register(sock, selectors.EVENT_READ, "pipe")
        self.mode = "open"
        waiting, self.waiting = self.waiting, []
        for client in waiting:
            self._connect(client)

    def _stop(self) -> None:
        self._cut()
        self._stopped.set()
        self.selector.close()
        _close(self.listener)
        _close(self._wake_read)
        _close(self._wake_write)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
