"""Reading a study file: TOML text to a validated `Study`, or a `StudyError`.

Pure, like `itb.sim.parser`: floats are read as decimals, each table is validated
(`itb.fleet.schema`), each pydantic refusal placed at its line, then the checks across
tables run; every problem is reported at once, before anything runs.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from itb.fleet.errors import StudyError
from itb.fleet.schema import CareTable, StudyFile
from itb.pump.catalogue import MODELS
from itb.sim.scenario import key_lines, key_text, line_for, schema_reason
from itb.therapy.units import NL_PER_ML

# Every study starts on the same (arbitrary) Monday: results do not depend on the day
# the study is run, and a study names no calendar date.
STUDY_START = datetime(2026, 1, 5, 8, tzinfo=UTC)
STUDY_START_S = int(STUDY_START.timestamp())
YEAR_S = 365 * 86_400
MAX_STUDY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Study:
    """A validated study: its tables, the text it came from, and a digest of that text."""

    spec: StudyFile
    source: str
    text: str
    arm: str | None = None  # one arm of a study with [arms.*]: its care in `spec`

    @property
    def digest(self) -> str:
        """Names the study's content (and arm): a folder of partitions belongs to one."""
        named = self.text if self.arm is None else f"{self.text}\n[arm {self.arm}]"
        return hashlib.sha256(named.encode()).hexdigest()[:16]

    def with_patients(self, patients: int) -> Study:
        """The same study on the first `patients` patients: patient i is the same in a
        cohort of any size (its own seed), so the digest stays that of the text."""
        cohort = self.spec.cohort.model_copy(update={"patients": patients})
        return Study(self.spec.model_copy(update={"cohort": cohort}), self.source, self.text,
                     self.arm)

    def with_arm(self, name: str) -> Study:
        """The study as run in arm `name`: [care] with the arm's keys over it (checked
        when the study was parsed)."""
        data = tomllib.loads(self.text, parse_float=Decimal)
        care = CareTable.model_validate(arm_care(data.get("care", {}), data["arms"][name]))
        spec = self.spec.model_copy(update={
            "care": care, "arms": {},
            "study": self.spec.study.model_copy(update={
                "name": f"{self.spec.study.name}: {name}"})})
        return Study(spec, self.source, self.text, name)

    @property
    def patients(self) -> int:
        return self.spec.cohort.patients

    @property
    def duration_s(self) -> int:
        return int(self.spec.study.years * YEAR_S)

    @property
    def end_s(self) -> int:
        return STUDY_START_S + self.duration_s

    @property
    def low_reservoir_alarm_nl(self) -> int | None:
        alarm = self.spec.care.low_reservoir_alarm_ml
        return None if alarm is None else int(alarm * NL_PER_ML)


def parse_study(text: str, source: str = "<study>") -> Study:
    """Validate a study's TOML text; raises StudyError with file, line, key, reason."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise StudyError(source, [(int(match.group(1)) if match else None, "",
                                   f"not valid TOML ({error})")]) from None
    except (ValueError, RecursionError) as error:
        raise StudyError(source, [(None, "", f"not valid TOML ({str(error).split(';')[0]})")]
                         ) from None
    lines = key_lines(text)
    try:
        spec = StudyFile.model_validate(data)
    except ValidationError as error:
        raise StudyError(source, [(line_for(tuple(item["loc"]), lines),
                                   key_text(tuple(item["loc"])), _reason(item))
                                  for item in error.errors()]) from None
    problems = _cross_checks(spec.cohort.pump_model, spec.care) + _arm_checks(data, spec)
    if problems:
        raise StudyError(source, [(line_for(loc, lines), key_text(loc), reason)
                                  for loc, reason in problems])
    return Study(spec, source, text)


def arm_care(care: dict[str, Any], arm: dict[str, Any]) -> dict[str, Any]:
    """[care] with an arm's keys over it; a table in both (appointments) is merged key by key."""
    merged = dict(care)
    for key, value in arm.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = arm_care(merged[key], value)
        merged[key] = value
    return merged


def _arm_checks(data: dict[str, Any], spec: StudyFile) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    for name, arm in spec.arms.items():
        try:
            care = CareTable.model_validate(arm_care(data.get("care", {}), arm))
        except ValidationError as error:
            problems += [(("arms", name, *item["loc"]), _reason(item))
                         for item in error.errors()]
            continue
        problems += [(("arms", name, *loc[1:]), reason)
                     for loc, reason in _cross_checks(spec.cohort.pump_model, care)
                     if loc[0] == "care"]
    return problems


def _cross_checks(pump_model: str, care: CareTable) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    model = MODELS.get(pump_model)
    if model is None:
        problems.append((("cohort", "pump_model"), "must be one of: " + ", ".join(sorted(MODELS))))
    elif care.low_reservoir_alarm_ml is not None:
        alarm_nl = int(care.low_reservoir_alarm_ml * NL_PER_ML)
        low, high = model.low_reservoir_alarm_min_nl, model.low_reservoir_alarm_max_nl
        if not low <= alarm_nl <= high:
            problems.append((("care", "low_reservoir_alarm_ml"),
                             f"must be {low / NL_PER_ML:g} to {high / NL_PER_ML:g} mL "
                             f"for {model.name}"))
    if care.refill_margin_days >= care.refill_interval_days:
        problems.append((("care", "refill_margin_days"),
                         "must be less than care.refill_interval_days"))
    return problems + _adherence_checks(care)


def _adherence_checks(care: CareTable) -> list[tuple[tuple[Any, ...], str]]:
    if care.adherence == "shares":
        return [] if care.appointments is None else [(
            ("care", "adherence"), 'must be "appointments" when [care.appointments] is given')]
    problems: list[tuple[tuple[Any, ...], str]] = []
    if care.appointments is None:
        problems.append((("care", "adherence"),
                         "needs a [care.appointments] table (docs/fleet.md)"))
    for key in ("late_refill_share", "missed_refill_share"):
        if getattr(care, key):
            problems.append((("care", key), 'must be 0 with adherence = "appointments" '
                             "(the appointment rules and attendance give the misses)"))
    return problems


def _reason(error: Any) -> str:
    return schema_reason(error, "docs/fleet.md")
