"""A loopback TCP proxy that lets its first `cuts` connections' requests reach the clinic,
then throws the clinic's answer away and hangs up: the request was recorded, but the sender
never hears so (the wand link's CuttingProxy in tests/e2e does the same to the pump). Later
connections pass untouched."""

from __future__ import annotations

from tests.e2e.tcpproxy import LoopbackProxy


class ReplyDroppingProxy(LoopbackProxy):
    def __init__(self, target_port: int, cuts: int = 1) -> None:
        self.cuts = cuts
        self.replies_dropped = 0
        super().__init__(target_port)

    def plan(self, number: int) -> bool:
        return number <= self.cuts  # cut this connection's answer

    def downward(self, data: bytes, plan: bool) -> bool:
        if plan:  # the clinic answered: the answer is lost on its way back
            self.replies_dropped += 1
            return False
        return True
