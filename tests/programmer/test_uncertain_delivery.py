"""Uncertain delivery (issues 14 and 17.3): a therapy change cut at every point of its link.

Each therapy change (program, bolus, refill, stop, resume) is cut before its request
leaves, after the request left (it reaches the pump cut short), after the pump acted,
before the reply, and on a silent link (a timeout). The programmer must never send it
twice, the pump must carry it out at most once, and the programmer's report must be
right every time: "carried out at …" exactly when the pump did it, "not carried out"
exactly when it did not, and "unknown: interrogate before acting" only when it cannot
look.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction

import pytest
from tests.programmer.conftest import CUT_POINTS, Cli
from tests.programmer.test_link_interrupted import PROGRAM_330

from itb.pump import ContinuousTherapy, Pump
from itb.therapy.units import to_exact_str

# The pump's own event of each act (pump.py), counted to prove it happened once or never.
ACT_EVENT = {"program": "program_changed", "bolus": "bolus_given", "stop": "pump_stopped",
             "resume": "pump_resumed", "refill": "refill"}
CARRIED_OUT = ("acted", "reply", "silent")


def _syringe(pump: Pump) -> str:
    return to_exact_str(Fraction(pump.physical.reservoir_nl, 1_000_000))


def run_change(cli: Cli, act: str) -> object:
    commands: dict[str, Callable[[], object]] = {
        "program": lambda: cli(*PROGRAM_330),
        "bolus": lambda: cli("bolus", "--dose", "50", "--duration-min", "10", "--yes"),
        "stop": lambda: cli("stop", "--yes"),
        "resume": lambda: cli("resume", "--yes"),
        "refill": lambda: cli("refill", "--withdrawn-ml", _syringe(cli.wand.pump),
                              "--concentration", "500", "--added-ml", "18", "--yes"),
    }
    return commands[act]()


def count(pump: Pump, kind: str, since: int) -> int:
    return sum(1 for e in pump.log.entries() if e.kind == kind and e.index >= since)


@pytest.mark.req("REQ-PRG-UNCERTAIN")
@pytest.mark.parametrize("cut", CUT_POINTS)
@pytest.mark.parametrize("act", list(ACT_EVENT))
def test_a_cut_change_is_carried_out_at_most_once_and_reported_right(
        cli: Cli, act: str, cut: str) -> None:
    if act == "resume":
        cli.wand.pump.stop()
    since = cli.wand.pump.log.next_index
    cli.wand.cut_change = [cut, cut]  # the session that sends the change is cut
    result = run_change(cli, act)
    pump = cli.wand.pump
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert len(cli.wand.sent_changes) == 1  # never sent again, blindly or otherwise
    done = count(pump, ACT_EVENT[act], since)
    entry = json.loads(cli.session_file.read_text().splitlines()[-1])
    if cut in CARRIED_OUT:
        assert done == 1
        assert "the pump's log shows it carried out at" in stderr
        assert "Do not send" in stderr
        assert entry["outcome"] in ("done (answer lost; confirmed from the pump's log)",
                                    "refilled")
    else:
        assert done == 0
        assert "shows it not carried out" in stderr
        assert entry["outcome"] in ("not done", "stopped")
    assert "failed" not in stderr.split("Next:")[0].lower()
    if act == "refill" and cut in CARRIED_OUT:  # no lost refill: the pump holds the new drug
        assert pump.reservoir_estimate_nl == 18_000_000
        assert json.loads(cli.session_file.read_text().splitlines()[-1])[
            "details"]["refill"]["outcome"].startswith("refilled")


@pytest.mark.req("REQ-PRG-UNCERTAIN")
@pytest.mark.parametrize("act", list(ACT_EVENT))
def test_when_the_log_cannot_be_read_the_report_is_unknown_interrogate_before_acting(
        cli: Cli, act: str) -> None:
    if act == "resume":
        cli.wand.pump.stop()
    cli.wand.cut_change = ["silent", "silent"]
    cli.wand.refuse_sessions_after = 2  # the pump is not reachable again
    result = run_change(cli, act)
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert stderr.startswith("Error: unknown: interrogate before acting.")
    assert "Next: Interrogate the pump before acting" in stderr
    assert len(cli.wand.sent_changes) == 1


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_after_a_bolus_reported_carried_out_the_pump_gives_no_second_bolus(cli: Cli) -> None:
    """The whole story: the answer is lost, the report says carried out, and the patient
    received one bolus; a second, deliberate bolus is a new command with a new id."""
    since = cli.wand.pump.log.next_index
    cli.wand.cut_change = ["reply", "reply"]
    assert "carried out at" in run_change(cli, "bolus").stderr  # type: ignore[attr-defined]
    assert count(cli.wand.pump, "bolus_given", since) == 1
    ids = [c.command_id for c in cli.wand.sent_changes]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == 1


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_a_program_answer_lost_leaves_the_new_program_verified(cli: Cli) -> None:
    cli.wand.cut_change = [None, "reply"]
    result = cli(*PROGRAM_330)
    assert "The new program is in force" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(330))


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_a_busy_pump_right_after_the_cut_is_asked_again_before_saying_unknown(
        cli: Cli) -> None:
    """The old session can hold the pump's one slot for a moment after a lost link."""
    from itb.programmer.delivery import Delivery, look_up
    from itb.telemetry.errors import LinkRefused

    refusals = iter([LinkRefused("T-100", "busy: another session is open")] * 2)
    waits: list[float] = []

    def reconnect():  # type: ignore[no-untyped-def]
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return cli.wand.open_session()

    found = look_up(reconnect, "never-sent", cli.wand.pump.log.next_index, waits.append)
    assert found.delivery is Delivery.NOT_CARRIED_OUT and waits == [0.5, 0.5]
    always_busy = look_up(lambda: (_ for _ in ()).throw(LinkRefused("T-100", "busy: x")),
                          "never-sent", 0, waits.append)
    assert always_busy.delivery is Delivery.UNKNOWN and "busy" in always_busy.why_unknown
