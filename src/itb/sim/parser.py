"""Reading a scenario file: TOML text to a validated `Scenario`, or a `ScenarioError`.

Pure: `parse_scenario(text, source)` takes the file's text and a name for messages. The
file is read with decimals for floats (doses stay exact), validated table by table
(`itb.sim.schema`), each pydantic refusal placed at its line, then checked across tables
(`itb.sim.checks`).
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from itb.sim.checks import resolve
from itb.sim.scenario import (
    Scenario,
    ScenarioError,
    key_lines,
    key_text,
    line_for,
    schema_reason,
)
from itb.sim.schema import EVENT_KINDS, ScenarioFile


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate a scenario's TOML text; raises ScenarioError with file, line, key, reason."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        line = int(match.group(1)) if match else None
        raise ScenarioError(source, [(line, "", f"not valid TOML ({error})")]) from None
    except ValueError as error:
        # tomllib hands integers to int(), whose guard against huge digit strings (over
        # 4300 digits) raises a plain ValueError, not a TOMLDecodeError.
        reason = str(error).split(";")[0]  # drop int()'s advice about set_int_max_str_digits
        raise ScenarioError(source, [(None, "", f"not valid TOML ({reason})")]) from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table; a hostile file of
        # thousands of '[' would otherwise end in a traceback, not a refusal.
        raise ScenarioError(source, [(None, "", "not valid TOML (arrays or inline tables "
                                                "nested too deeply)")]) from None
    lines = key_lines(text)
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = _clean_loc(tuple(item["loc"]))
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, "event")  # the tag's own key and line
            problems.append((line_for(loc, lines), key_text(loc), _reason(item)))
        raise ScenarioError(source, problems) from None
    return resolve(spec, source, lines)



def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator tag pydantic puts after a timeline index."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if i >= 2 and loc[0] == "timeline" and i == 2 and part in EVENT_KINDS:
            continue
        out.append(part)
    return tuple(out)


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        return "event must be one of: " + ", ".join(EVENT_KINDS)
    if kind == "union_tag_not_found":
        return "each [[timeline]] entry needs event = one of: " + ", ".join(EVENT_KINDS)
    return schema_reason(error, "docs/sim.md")
