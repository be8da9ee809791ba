"""A loopback TCP proxy for tests that break a link on purpose (the wand link in
tests/e2e, the clinic's HTTP in tests/clinic/cutproxy.py).

Each accepted connection gets its own connection to `target_port` and two threads, one per
direction. A subclass decides what passes: `admits()` is asked as each connection comes (False
closes it at once: the target is unreachable); `plan(number)` once per connection admitted
(the first is 1); `upward(data, count, plan, upstream)` once per chunk from the client (`count`
from 1; False ends the connection without sending that chunk on: the subclass may have sent
part of it itself); `downward(data, plan)` once per chunk from the target (False throws it
away and ends the connection). When either direction ends, both sockets close.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class LoopbackProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def admits(self) -> bool:
        return True

    def plan(self, number: int) -> Any:
        return None

    def upward(self, data: bytes, count: int, plan: Any, upstream: socket.socket) -> bool:
        return True

    def downward(self, data: bytes, plan: Any) -> bool:
        return True

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.admits():
                client.close()
                continue
            self.connections += 1
            plan = self.plan(self.connections)
            threading.Thread(target=self._serve, args=(client, plan), daemon=True).start()

    def _serve(self, client: socket.socket, plan: Any) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))

        def down() -> None:
            with contextlib.suppress(OSError):
                while (data := upstream.recv(65536)) and self.downward(data, plan):
                    client.sendall(data)
            _close(client, upstream)

        threading.Thread(target=down, daemon=True).start()
        count = 0
        try:
            while data := client.recv(65536):
                count += 1
                if not self.upward(data, count, plan, upstream):
                    break
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
