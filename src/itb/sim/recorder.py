"""The implanted pump as a part of a run: moved through time, its output written down.

`PumpRecorder` holds the pump in service (a replacement swaps it), moves it forward with
`Pump.advance` (event-driven: the drug that truly reached the CSF, leaked or went into
the pocket comes back as piecewise-constant segments) and keeps the delivery history,
the anchors of truth and belief, and the firmware's alarms read from its event log.
"""

from __future__ import annotations

from collections.abc import Callable

from itb.pump import Pump
from itb.pump.records import to_datetime
from itb.sim.records import AlarmSpan, Journal, PumpHistory

LOG_PAGE = 4096  # log entries read at a time


class PumpRecorder:
    def __init__(self, journal: Journal, on_advance: Callable[[int], None] | None = None) -> None:
        self.journal = journal
        self.on_advance = on_advance  # told the time reached (progress reporting)
        self.history = PumpHistory()
        self._pump: Pump | None = None
        self._log_index = 0
        self._alarm_open: dict[str, tuple[bool, int]] = {}  # kind -> (critical, raised_s)

    @property
    def pump(self) -> Pump:
        assert self._pump is not None
        return self._pump

    @property
    def implanted(self) -> bool:
        return self._pump is not None

    def attach(self, pump: Pump) -> None:
        """A new pump is in service: its log is read from the start."""
        self._pump = pump
        self._log_index = 0
        self._alarm_open = {}

    def advance(self, to_s: int) -> None:
        pump = self.pump
        if to_s <= pump.now_s:
            return
        report = pump.advance(to_datetime(to_s))
        if self.journal.recording:
            h = self.history
            h.csf.extend(report.csf_segments)
            h.leak.extend(report.leak_segments)
            h.deposits.extend(report.pocket_deposits)
            h.commanded.extend(report.commanded_segments)
            h.out_total_nl += sum(s.volume_nl for s in report.csf_segments) + sum(
                s.volume_nl for s in report.leak_segments)
            h.commanded_units += sum(s.flow_nl_per_day * (s.end_s - s.start_s)
                                     for s in report.commanded_segments)
        self.collect_log()
        self.anchor()
        if self.on_advance is not None:
            self.on_advance(to_s)

    def anchor(self) -> None:
        """Write down the true reservoir and the firmware's estimate now."""
        if not self.journal.recording or self._pump is None:
            return
        pump = self._pump
        h = self.history
        h.anchors.append((pump.now_s, pump.physical.reservoir_nl, pump.reservoir_estimate_nl,
                          h.out_total_nl, h.commanded_units))

    def collect_log(self) -> None:
        """Read the pump's new log entries: alarms raised and cleared, and every entry as an
        event of the run (at the true time: the pump's clock may be off)."""
        pump = self.pump
        journal = self.journal
        while True:
            entries = pump.log_since(self._log_index, LOG_PAGE)
            if not entries:
                return
            for entry in entries:
                self._log_index = entry.index + 1
                true_s = entry.time_s - pump.clock_error_s
                details = dict(entry.details)
                if entry.kind == "alarm_raised":
                    self._alarm_open[details["kind"]] = (details.get("critical") == "True",
                                                         true_s)
                elif entry.kind == "alarm_cleared":
                    opened = self._alarm_open.pop(details["kind"], None)
                    if opened is not None and journal.recording:
                        journal.alarms.append(AlarmSpan(details["kind"], opened[0], opened[1],
                                                        true_s))
                if journal.recording and entry.kind not in ("telemetry_session",):
                    text = ", ".join(f"{k}={v}" for k, v in details.items()
                                     if k != "program")
                    journal.note(true_s, "pump", entry.kind, text)
            if len(entries) < LOG_PAGE:
                return

    def close_alarms(self, at_s: int | None) -> None:
        """The pump is explanted (or the run ends): its open alarms end here."""
        for kind, (critical, raised) in sorted(self._alarm_open.items()):
            if self.journal.recording:
                self.journal.alarms.append(AlarmSpan(kind, critical, raised, at_s))
        self._alarm_open = {}
