"""docs/programmer.md's quick example works when followed literally (issue 9.8).

The shell block is taken from the document as written; only its state folder and port
are replaced (a temporary folder, a free loopback port), and the prompts are answered
as its comments say.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The prompts and the answers the example's comments give, in order: the refill wizard
# (the pump? withdrawn, drug, concentration, prescribed, added, update the pump?), then
# the program change (send?).
ANSWERS = (("patient's pump", "y"), ("withdrawn from the reservoir", "17.5"),
           ("Drug", ""), (r"Concentration \(mcg/mL\)", ""), ("Prescribed concentration", ""),
           ("Volume added", "18"), ("Update pump", "y"), ("Send this program", "y"))


def quick_example() -> str:
    text = (ROOT / "docs" / "programmer.md").read_text()
    section = text.split("## Quick example", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
def test_the_quick_example_runs_as_written(tmp_path: Path) -> None:
    script = quick_example()
    assert "--daily-dose 330" in script
    script = script.replace("/tmp/clinic", str(tmp_path / "clinic"))
    script = script.replace("7400", str(free_port()))
    # The harness's own line: stop the example's servers however it ends.
    (tmp_path / "example.sh").write_text("trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + script)
    env = os.environ | {"PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    for name in ("ITB_PUMP_HOST", "ITB_PUMP_PORT", "ITB_KEY_FILE", "ITB_SERIAL", "ITB_SESSION"):
        env.pop(name, None)
    child = pexpect.spawn("bash", ["-e", "example.sh"], cwd=str(tmp_path), env=env,
                          encoding="utf-8", timeout=120, dimensions=(50, 200))
    try:
        for prompt, answer in ANSWERS:
            child.expect(prompt)
            child.sendline(answer)
        child.expect("Program sent and verified")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    journal = [json.loads(line) for line in (tmp_path / "visit.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in journal] == ["interrogation", "refill", "program", "interrogation"]
    assert all(e["outcome"] == "done" for e in journal)
    assert (tmp_path / "visit.html").read_text().count("330 mcg/day") >= 1
