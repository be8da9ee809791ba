"""The two-tier guardrails end to end (issue 14): the real `itb programmer` against a real
`itb pump serve` (hard limits 600 mcg per 24 h and a 200 mcg maximum bolus, so the guardrails
and not the pump's hard limits meet a 150 mcg bolus). Every state is checked with a fresh
interrogation; the journal is the session file the CLI writes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from pump_server import PROGRAMMER, ServedPump, serve_pump

REASON = "intrathecal bolus ordered by the physician for severe spasms"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path_factory.mktemp("guard"), days=2,
                          new_args=("--max-bolus", "200"))


def answered(served: ServedPump, answer: str, *command: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the clinician's answer typed at its question."""
    return subprocess.run([*PROGRAMMER, *command, *served.args()], input=answer,
                          capture_output=True, text=True, timeout=60, check=False)


def last_entry(served: ServedPump, kind: str) -> dict:
    """The journal's last entry of this kind (every interrogation is journaled too)."""
    found = [json.loads(line) for line in served.session.read_text().splitlines()]
    return [entry for entry in found if entry["kind"] == kind][-1]


@pytest.mark.req("REQ-PRG-GUARDRAILS")
@pytest.mark.e2e
def test_a_warning_needs_the_clinicians_confirmation(served: ServedPump) -> None:
    declined = answered(served, "n\n", "bolus", "--dose", "60", "--duration-min", "10")
    assert declined.returncode == 1, declined.stderr
    assert "Warning: bolus size 60 mcg is above 50 mcg" in declined.stdout
    assert "Confirm the 1 warning above" in declined.stdout
    assert served.interrogate()["bolus_until"] is None
    assert "Not confirmed: nothing was sent" in declined.stderr
    warned = answered(served, "y\n", "set-alarm-volume", "--ml", "1.5")
    assert warned.returncode == 0, warned.stderr
    assert "Warning: alarm volume 1.5 mL is below 2 mL" in warned.stdout
    assert served.interrogate()["low_reservoir_alarm_ml"] == "1.5"
    assert last_entry(served, "alarm_volume")["details"]["guardrails"][0]["tier"] == "warning"


@pytest.mark.req("REQ-PRG-GUARDRAILS")
@pytest.mark.e2e
def test_a_block_is_refused_without_a_reason_and_accepted_with_one(served: ServedPump) -> None:
    refused = served.run("bolus", "--dose", "150", "--duration-min", "20", "--yes")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    error, next_step = refused.stderr.strip().splitlines()[:2]
    assert error.startswith("Error: Blocked by a guardrail: bolus size = 150 mcg")
    assert next_step.startswith("Next: ") and "--override-reason" in next_step
    assert served.interrogate()["bolus_until"] is None
    assert last_entry(served, "bolus")["outcome"] == "refused"
    done = served.run("bolus", "--dose", "150", "--duration-min", "20", "--yes",
                      "--override-reason", REASON)
    assert done.returncode == 0, done.stderr
    assert served.interrogate()["bolus_until"] is not None
    entry = last_entry(served, "bolus")
    assert entry["outcome"] == "overridden"
    assert entry["details"]["guardrail_override_reason"] == REASON
    found = entry["details"]["guardrails"][0]
    assert (found["limit"], found["tier"], found["value"], found["threshold"]) == (
        "bolus size", "block", "150", "100")
