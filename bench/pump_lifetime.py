"""Benchmark: one pump's 7-year lifetime, event-driven, against minute stepping.

One synchromed-ii-40 pump on a 24-step flex schedule (a different rate every hour)
at 500 mcg/mL, refilled to full every 90 days, advanced over 7 years (to the
automatic shut-off). The reference is the *same* pump model advanced one minute at
a time (as a fixed-step simulator would), measured over the first 30 days in the
same run and scaled to 7 years (stated in the output). Both runs must agree on the
firmware's stroke count over the 30 days they share.

Run: .venv/bin/python bench/pump_lifetime.py   (the last line is one JSON object)
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from itb.pump import FlexStep, FlexTherapy, HardLimits, Program, Pump

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
YEARS = 7
REFILL_DAYS = 90
NAIVE_DAYS = 30
CAPACITY_NL = 40_000_000


def make_pump() -> Pump:
    steps = tuple(FlexStep(h * 3600, 3600, Fraction(100 + 5 * (h % 12))) for h in range(24))
    program = Program(FlexTherapy(steps, utc_offset_minutes=60),
                      HardLimits(Fraction(300), Fraction(50)))
    pump = Pump.implant("synchromed-ii-40", serial="BENCH", at=START, fill_nl=CAPACITY_NL,
                        concentration_mcg_per_ml=Fraction(500), program=program, seed=7)
    pump.prime()
    return pump


def lifetime() -> tuple[Pump, int, int]:
    """Run 7 years; returns the pump, constant-flow segments and refills."""
    pump = make_pump()
    end = START + timedelta(days=round(365.25 * YEARS))
    segments = 0
    refills = 0
    t = START + timedelta(days=REFILL_DAYS)
    while t < end:
        segments += len(pump.advance(t).commanded_segments)
        if not pump.end_of_service:
            pump.refill(added_nl=CAPACITY_NL, concentration_mcg_per_ml=Fraction(500))
            refills += 1
        t += timedelta(days=REFILL_DAYS)
    segments += len(pump.advance(end).commanded_segments)
    return pump, segments, refills


def main() -> None:
    runs = []
    for _ in range(3):
        began = time.perf_counter()
        pump, segments, refills = lifetime()
        runs.append(time.perf_counter() - began)
    event_s = min(runs)
    log_events = pump.log.next_index

    # Reference: the same model stepped minute by minute over NAIVE_DAYS.
    naive = make_pump()
    minutes = NAIVE_DAYS * 1440
    began = time.perf_counter()
    for minute in range(1, minutes + 1):
        naive.advance(START + timedelta(minutes=minute))
    naive_s = time.perf_counter() - began
    check = make_pump()
    check.advance(START + timedelta(days=NAIVE_DAYS))
    if check.strokes != naive.strokes:
        raise SystemExit("event-driven and minute-stepped runs disagree")
    lifetime_minutes = round(365.25 * YEARS) * 1440
    naive_scaled_s = naive_s * lifetime_minutes / minutes
    ratio = naive_scaled_s / event_s

    print(f"7-year lifetime, 24-step flex, refill every {REFILL_DAYS} days ({refills} refills)")
    print(f"  event-driven: {event_s:.3f} s wall (best of {len(runs)}), {segments} "
          f"constant-flow segments, {segments / event_s:,.0f} segments/s, "
          f"{log_events} firmware log events, battery {pump.status().battery_state}")
    print(f"  minute-stepping (same model, {NAIVE_DAYS} days measured, scaled x"
          f"{lifetime_minutes / minutes:.1f} to 7 years): {naive_s:.3f} s measured, "
          f"{naive_scaled_s:.1f} s scaled")
    print(f"  speed-up: {ratio:,.0f}x (target >= 100x); under 1 s: {event_s < 1}")
    print(json.dumps({
        "benchmark": "pump_lifetime", "years": YEARS, "flex_steps": 24,
        "refill_every_days": REFILL_DAYS, "refills": refills,
        "wall_s": round(event_s, 4), "segments": segments,
        "segments_per_s": round(segments / event_s), "log_events": log_events,
        "naive_minutes_measured": minutes, "naive_measured_s": round(naive_s, 4),
        "naive_scaled_s": round(naive_scaled_s, 2), "speedup": round(ratio, 1),
    }))


if __name__ == "__main__":
    main()
