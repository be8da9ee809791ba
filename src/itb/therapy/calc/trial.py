"""`itb calc screening` and `candidate`: the screening trial and the candidate check,
from a trial record file of [[bolus]] tables."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.calc.output import (
    Computed,
    calc_command,
    exact_text,
    instant,
    iso,
    read_text,
    table_of,
)
from itb.therapy.errors import ScreeningProtocolError
from itb.therapy.screening import (
    PositiveResponseCriterion,
    SpasticityScore,
    assess_candidate,
    evaluate_trial,
    screening_bolus,
    screening_doses,
)
from itb.therapy.units import display, exact, to_exact_str

_BOLUS_KEYS = {"dose_mcg", "given_at", "injection_s", "observed_h", "ashworth_before",
               "ashworth_after", "spasm_frequency_before", "spasm_frequency_after",
               "effect_duration_h"}




def _trial_error(key: str, exc: InvalidInput, rename: dict[str, str] | None = None
                 ) -> ScreeningProtocolError:
    """A value refused inside a trial file, re-named with the file and the bolus it is in."""
    field = (rename or {}).get(exc.field, exc.field)
    return ScreeningProtocolError(f"{key}.{field}", exc.value, exc.allowed, exc.reason)


def _read_trial(path: Path) -> list[Any]:
    source = str(path)
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ScreeningProtocolError(source, "not valid TOML", "a TOML document",
                                     str(exc)) from None
    raw = data.get("bolus")
    if set(data) - {"bolus"} or not isinstance(raw, list) or not raw:
        raise ScreeningProtocolError(f"{source}: bolus", "missing or extra keys",
                                     "one to three [[bolus]] tables and nothing else")
    boluses = []
    for index, entry in enumerate(raw):
        key = f"{source}: bolus[{index}]"
        if not isinstance(entry, dict):
            raise ScreeningProtocolError(key, entry, "a [[bolus]] table with the keys "
                                         + ", ".join(sorted(_BOLUS_KEYS)))
        missing = sorted(_BOLUS_KEYS - {"effect_duration_h"} - set(entry))
        extra = sorted(set(entry) - _BOLUS_KEYS)
        if missing or extra:
            raise ScreeningProtocolError(f"{key}.{(missing or extra)[0]}",
                                         "missing" if missing else "unknown key",
                                         "the keys " + ", ".join(sorted(_BOLUS_KEYS)))
        for number_key in ("dose_mcg", "observed_h", "effect_duration_h"):
            if isinstance(entry.get(number_key), float):
                raise ScreeningProtocolError(f"{key}.{number_key}", entry[number_key],
                                             'an integer or a decimal string such as "7.5"')
        given = entry["given_at"]
        given_at = given if isinstance(given, datetime) else instant(f"{key}.given_at",
                                                                      str(given))
        if given_at.tzinfo is None:
            raise InvalidInput(f"{key}.given_at", given, "a time with a UTC offset or Z")
        scores = []
        for when in ("before", "after"):
            try:
                scores.append(SpasticityScore(str(entry[f"ashworth_{when}"]),
                                              entry[f"spasm_frequency_{when}"]))
            except InvalidInput as exc:
                raise _trial_error(key, exc, {"ashworth": f"ashworth_{when}",
                                              "spasm_frequency": f"spasm_frequency_{when}"}
                                   ) from None
        try:
            boluses.append(screening_bolus(
                dose_mcg=entry["dose_mcg"], given_at=given_at.astimezone(UTC),
                injection_s=entry["injection_s"], observed_h=entry["observed_h"],
                before=scores[0], after=scores[1],
                effect_duration_h=entry.get("effect_duration_h")))
        except InvalidInput as exc:
            raise _trial_error(key, exc) from None
    return boluses


@calc_command
def screening(
    trial: Path | None = typer.Option(None, "--trial",
                                      help="trial record TOML ([[bolus]] tables); "
                                      "without it, print the protocol"),
    min_ashworth_decrease: str = typer.Option(
        to_exact_str(catalogue.POSITIVE_RESPONSE_MIN_ASHWORTH_DECREASE), "--min-ashworth-decrease",
        help="positive response: Ashworth fall (unconfirmed default)"),
    min_spasm_decrease: int = typer.Option(
        catalogue.POSITIVE_RESPONSE_MIN_SPASM_FREQUENCY_DECREASE, "--min-spasm-decrease",
        help="positive response: Penn spasm frequency fall (unconfirmed default)"),
    small_child: bool = typer.Option(
        False, "--small-child",
        help="a very small child: 25 mcg may be tried first (unconfirmed label figure)"),
) -> Computed:
    """The labeled screening protocol, or the decision for a recorded trial."""
    # Checked even without --trial: an option given is never silently ignored.
    criterion = PositiveResponseCriterion(
        min_ashworth_decrease=exact("min_ashworth_decrease", min_ashworth_decrease),
        min_spasm_frequency_decrease=min_spasm_decrease)
    conc = catalogue.SCREENING_CONCENTRATION_MCG_PER_ML
    protocol = [{"bolus": i + 1, "dose_mcg": exact_text(d), "volume_ml": exact_text(d / conc),
                 "hours_after_previous": 0 if i == 0 else catalogue.SCREENING_INTERVAL_H}
                for i, d in enumerate(screening_doses(small_child))]
    if trial is None:
        data: dict[str, Any] = {
            "concentration_mcg_per_ml": exact_text(conc), "boluses": protocol,
            "min_injection_s": catalogue.SCREENING_MIN_INJECTION_S,
            "observe_h": [catalogue.SCREENING_OBSERVATION_MIN_H,
                          catalogue.SCREENING_OBSERVATION_MAX_H],
            "not_a_candidate_after_mcg": exact_text(catalogue.SCREENING_DOSES_MCG[-1])}
        rows = [(f"bolus {p['bolus']}", f"{p['dose_mcg']} mcg = {p['volume_ml']} mL of "
                 f"{exact_text(conc)} mcg/mL" + (f", {p['hours_after_previous']} h after the "
                                         "previous if inadequate" if p["bolus"] > 1 else ""))
                for p in protocol]
        rows += [("injection", "barbotage over at least 1 minute"),
                 ("observation", "4 to 8 hours after each bolus"),
                 ("no response to 100 mcg", "not a candidate for an implanted pump")]
        return data, table_of("Screening trial protocol (label)", rows, numbers=False)
    try:
        record = evaluate_trial(_read_trial(trial), criterion, small_child=small_child)
    except ScreeningProtocolError as exc:
        if exc.field.startswith("boluses"):  # the protocol check: name the file's bolus
            raise ScreeningProtocolError(f"{trial}: bolus" + exc.field.removeprefix("boluses"),
                                         exc.value, exc.allowed, exc.reason) from None
        raise
    data = {
        "decision": record.decision.value, "reason": record.reason,
        "responses": list(record.responses),
        "boluses": [{"dose_mcg": exact_text(b.dose_mcg), "volume_ml": exact_text(b.volume_ml),
                     "given_at": iso(b.given_at),
                     "ashworth_before": b.before.ashworth, "ashworth_after": b.after.ashworth,
                     "spasm_frequency_before": b.before.spasm_frequency,
                     "spasm_frequency_after": b.after.spasm_frequency}
                    for b in record.boluses],
        "next_dose_mcg": None if record.next_dose_mcg is None
        else exact_text(record.next_dose_mcg),
        "next_dose_not_before": iso(record.next_dose_not_before),
        "initial_daily_dose_mcg": None if record.initial_dose is None
        else exact_text(record.initial_dose.daily_dose_mcg),
    }
    rows = [(f"bolus {i + 1}: {display(b.dose_mcg)} mcg at {iso(b.given_at)}",
             f"MAS {b.before.ashworth} -> {b.after.ashworth}, spasms "
             f"{b.before.spasm_frequency} -> {b.after.spasm_frequency}: "
             + ("positive" if r else "inadequate"))
            for i, (b, r) in enumerate(zip(record.boluses, record.responses, strict=True))]
    rows += [("decision", record.decision.value), ("reason", record.reason)]
    if record.next_dose_not_before is not None:
        rows.append(("next bolus not before (UTC)", iso(record.next_dose_not_before) or ""))
    return data, table_of("Screening trial", rows)


@calc_command
def candidate(
    weight_kg: str = typer.Option(..., "--weight-kg", help="body weight, kg"),
    severe: bool = typer.Option(..., "--severe/--not-severe", help="severe spasticity?"),
    oral_inadequate: bool = typer.Option(..., "--oral-inadequate/--oral-adequate",
                                         help="oral medication inadequate or not tolerated?"),
    age_years: str | None = typer.Option(None, "--age-years"),
    days_since_brain_injury: str | None = typer.Option(None, "--days-since-brain-injury"),
) -> Computed:
    """Candidate checks for an implanted pump (weight, severity, oral medication, age)."""
    result = assess_candidate(body_weight_kg=weight_kg, severe_spasticity=severe,
                              oral_medication_inadequate=oral_inadequate,
                              age_years=age_years,
                              days_since_brain_injury=days_since_brain_injury)
    data = {"eligible": result.eligible, "unmet": list(result.unmet)}
    rows = [("eligible", "yes" if result.eligible else "no")]
    rows += [("unmet", reason) for reason in result.unmet]
    return data, table_of("Candidate check", rows, numbers=False)


# --- dilution / battery ------------------------------------------------------------------
