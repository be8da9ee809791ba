"""A loopback TCP proxy that lets its first `cuts` connections' requests reach the clinic,
then throws the clinic's answer away and hangs up: the request was recorded, but the sender
never hears so (modelled on the wand link's CuttingProxy in tests/e2e). Later connections
pass untouched."""

from __future__ import annotations

import contextlib
import socket
import threading


class ReplyDroppingProxy:
    def __init__(self, target_port: int, cuts: int = 1) -> None:
        self.target_port = target_port
        self.cuts = cuts
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.replies_dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.connections <= self.cuts
            threading.Thread(target=self._serve, args=(client, cut), daemon=True).start()

    def _serve(self, client: socket.socket, cut: bool) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        done = threading.Event()

        def down() -> None:
            while not done.is_set():
                try:
                    data = upstream.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                if cut:  # the clinic answered: the answer is lost on its way back
                    self.replies_dropped += 1
                    break
                try:
                    client.sendall(data)
                except OSError:
                    break
            done.set()
            _close(client, upstream)

        threading.Thread(target=down, daemon=True).start()
        try:
            while not done.is_set():
                data = client.recv(65536)
                if not data:
                    break
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def close(self) -> None:
        self.listener.close()


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
