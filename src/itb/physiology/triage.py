"""Symptom triage: the seeds' "when to call", sharpened by what is known about the pump.

`triage(symptoms, facts)` is a pure function. The disposition is the most urgent
instruction among the seed passages that name a reported symptom (see
`itb.physiology.symptoms`), raised by these pump-fact rules:

1. An alarm heard means the pump may not be working: call the care team at least
   (seed 004 "Seek medical attention as soon as possible if you suspect the pump isn't
   working as it should"). A critical (two-tone) alarm with any symptom, or any alarm
   with a withdrawal sign, is an emergency (seed 002 "Problems with the infusion pump can
   cause either overdose or sudden withdrawal"; seed 004 withdrawal -> 911).
2. A refill overdue means the reservoir may be empty: call the care team at least (seed
   004 "Missing a pump refill appointment may lead to baclofen withdrawal"); with a
   withdrawal sign it is an emergency (seed 004).
3. Within OVERDOSE_WINDOW of a refill or a programming change, overdose is the more likely
   cause (seeds 003/004 "typically happens close to a pump refill or change in
   programming"; devices.md pocket fill "overdose within hours"). A side effect that the
   seeds also list as an overdose sign in other words (sleepiness, loose muscles) then
   calls for the care team, and any overdose sign stays an emergency.
4. Fever with a headache or a stiff neck in a patient with an intrathecal catheter may be
   meningitis (seed 001 lists meningitis among the complications): an emergency.
5. Swelling, pain or fluid at the pump within POCKET_FILL_WINDOW of a refill is a
   suspected pocket fill, which leads to an overdose within hours (devices.md): an
   emergency, with overdose as the cause.
6. Within RECOVERY_WINDOW of the implant (recovery takes 6 to 8 weeks, seeds 003/004),
   a headache may be a spinal fluid leak (seed 001 lists both): call the care team.

The causes are ranked by how many reported symptoms point to each, plus the pump facts;
a symptom that fits both withdrawal and overdose (confusion, low blood pressure,
hallucinations) keeps both causes, and the pump facts decide their order (a recent refill
or program change puts overdose first; an alarm or an overdue refill, withdrawal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from itb.errors import InvalidInput
from itb.physiology.symptoms import Cause, Disposition, Symptom, symptom
from itb.therapy.units import ExactLike, display, in_range

# "Close to a refill or a programming change" (seeds 003/004): the effect of a new dose
# reaches steady state in 1-2 days (labeling via devices.md), so we look back 3 days.
# *unconfirmed* window.
OVERDOSE_WINDOW_HOURS = Fraction(72)
# A pocket fill shows within hours of the refill (devices.md "overdose within hours"): we
# treat swelling, pain or fluid at the pump in the first 24 h after a refill as one.
# *unconfirmed* window.
POCKET_FILL_WINDOW_HOURS = Fraction(24)
# Recovery after implant takes 6 to 8 weeks (seeds 003, 004): we use 8 weeks.
RECOVERY_WINDOW_DAYS = Fraction(56)

# Tie-break order of causes when they have the same weight (most dangerous first).
_CAUSE_ORDER = (Cause.WITHDRAWAL, Cause.OVERDOSE, Cause.MENINGITIS, Cause.PUMP_OR_CATHETER,
                Cause.INFECTION,
                Cause.SURGICAL_SITE, Cause.SIDE_EFFECT)


class AlarmTone(StrEnum):
    """The two audible alarm patterns (devices.md, SynchroMed II)."""

    CRITICAL = "two-tone"      # three-second two-tone: empty reservoir, motor stall, EOS...
    NON_CRITICAL = "single-tone"  # one-second single tone: low reservoir, ERI


@dataclass(frozen=True)
class PumpFacts:
    """What the patient or carer knows about the pump; every field is optional."""

    days_since_refill: Fraction | None = None
    hours_since_program_change: Fraction | None = None
    alarm_heard: bool = False
    alarm_tone: AlarmTone | None = None
    refill_overdue: bool = False
    days_since_implant: Fraction | None = None

    @staticmethod
    def of(*, days_since_refill: ExactLike | None = None,
           hours_since_program_change: ExactLike | None = None, alarm_heard: bool = False,
           alarm_tone: str | AlarmTone | None = None, refill_overdue: bool = False,
           days_since_implant: ExactLike | None = None) -> PumpFacts:
        """Validated facts from plain values (decimal text, int, Fraction)."""
        def opt(field: str, value: ExactLike | None) -> Fraction | None:
            return None if value is None else in_range(field, value, 0, 36500)

        tone: AlarmTone | None = None
        if alarm_tone is not None:
            try:
                tone = AlarmTone(alarm_tone)
            except ValueError:
                raise InvalidInput("alarm_tone", alarm_tone,
                                   "one of: " + ", ".join(t.value for t in AlarmTone)) from None
        for name, flag in (("alarm_heard", alarm_heard), ("refill_overdue", refill_overdue)):
            if not isinstance(flag, bool):
                raise InvalidInput(name, flag, "true or false")
        return PumpFacts(
            days_since_refill=opt("days_since_refill", days_since_refill),
            hours_since_program_change=opt("hours_since_program_change",
                                           hours_since_program_change),
            alarm_heard=alarm_heard or tone is not None,
            alarm_tone=tone,
            refill_overdue=refill_overdue,
            days_since_implant=opt("days_since_implant", days_since_implant),
        )

    @property
    def near_refill_or_program_change(self) -> bool:
        near_refill = (self.days_since_refill is not None
                       and self.days_since_refill * 24 <= OVERDOSE_WINDOW_HOURS)
        near_change = (self.hours_since_program_change is not None
                       and self.hours_since_program_change <= OVERDOSE_WINDOW_HOURS)
        return near_refill or near_change

    @property
    def within_hours_of_refill(self) -> bool:
        return self.days_since_refill is not None and \
            self.days_since_refill * 24 <= POCKET_FILL_WINDOW_HOURS

    @property
    def recovering_from_implant(self) -> bool:
        return self.days_since_implant is not None and \
            self.days_since_implant <= RECOVERY_WINDOW_DAYS

    def described(self) -> list[str]:
        out = []
        if self.days_since_refill is not None:
            out.append(f"last refill {_count(self.days_since_refill, 'day')} ago")
        if self.hours_since_program_change is not None:
            out.append("pump program changed "
                       f"{_count(self.hours_since_program_change, 'hour')} ago")
        if self.alarm_heard:
            kind = {AlarmTone.CRITICAL: " (two-tone, critical)",
                    AlarmTone.NON_CRITICAL: " (single tone)", None: ""}[self.alarm_tone]
            out.append("pump alarm heard" + kind)
        if self.refill_overdue:
            out.append("refill is overdue")
        if self.days_since_implant is not None:
            out.append(f"pump implanted {_count(self.days_since_implant, 'day')} ago")
        return out


def _count(value: Fraction, unit: str) -> str:
    text = display(value, 1)
    return f"{text} {unit}" + ("" if text == "1" else "s")


@dataclass(frozen=True)
class TriageResult:
    disposition: Disposition
    causes: tuple[Cause, ...]
    reason: str
    tell_the_team: tuple[str, ...]
    symptoms: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "disposition": self.disposition.label,
            "causes": [c.value for c in self.causes],
            "reason": self.reason,
            "tell_the_team": list(self.tell_the_team),
            "symptoms": list(self.symptoms),
        }


# Side effects that seeds 003/004 also describe, in other words, as overdose signs:
# sleepiness ~ drowsiness, loose muscles ~ "very loose and weak muscles".
# Nausea and vomiting (and an upset stomach) are side effects (seeds 001, 002) and signs of
# baclofen overdose (oral labeling, overdosage): near a refill they are treated alike.
_OVERDOSE_LOOKALIKES = frozenset({"sleepiness", "loose-muscles", "dizziness", "weakness",
                                  "nausea", "vomiting", "upset-stomach"})
_FEVERS = frozenset({"fever", "low-grade-fever", "high-fever"})
_MENINGEAL = frozenset({"headache", "neck-stiffness", "postural-headache"})
_AT_THE_PUMP = frozenset({"swelling-over-pump", "severe-pain-at-pump-site",
                          "fluid-at-pump-site", "skin-discoloration-over-pump"})


def triage(symptom_names: Iterable[str], facts: PumpFacts | None = None) -> TriageResult:
    """Disposition, likely causes, reason and what to tell the team for a report."""
    facts = facts or PumpFacts()
    # Names in any letter case; keep order, drop repeats.
    reported: list[Symptom] = list(dict.fromkeys(symptom(n) for n in symptom_names))
    names = [s.name for s in reported]

    levels: list[tuple[Disposition, str]] = []
    for s in reported:
        sources = " and ".join(li.source for li in s.listings if li.instruction == s.instruction)
        levels.append((s.instruction, f"{s.words}: {sources}"))

    has_withdrawal_sign = any(Cause.WITHDRAWAL in s.causes for s in reported)
    has_overdose_sign = any(Cause.OVERDOSE in s.causes for s in reported)

    if facts.alarm_heard:
        levels.append((Disposition.CARE_TEAM, "a pump alarm was heard: the pump may not be "
                       "working as it should (seed 004: seek medical attention as soon as "
                       "possible)"))
        if facts.alarm_tone is AlarmTone.CRITICAL and reported:
            levels.append((Disposition.EMERGENCY, "a critical (two-tone) alarm with symptoms: "
                           "the pump may have stopped (seed 002: pump problems can cause "
                           "sudden withdrawal)"))
        if has_withdrawal_sign:
            levels.append((Disposition.EMERGENCY, "an alarm with a withdrawal sign (seeds "
                           "002, 004: call 911)"))
    if facts.refill_overdue:
        levels.append((Disposition.CARE_TEAM, "the refill is overdue (seed 004: missing a "
                       "refill may lead to withdrawal)"))
        if has_withdrawal_sign:
            levels.append((Disposition.EMERGENCY, "an overdue refill with a withdrawal sign "
                           "(seed 004: call 911)"))
    if facts.near_refill_or_program_change:
        lookalikes = [s for s in reported if s.name in _OVERDOSE_LOOKALIKES]
        if lookalikes:
            levels.append((Disposition.CARE_TEAM, "close to a refill or programming change, "
                           f"{lookalikes[0].words} may be an early overdose (seeds 003, 004)"))
    if _meningitis_suspected(names):
        levels.append((Disposition.EMERGENCY, "fever with a headache or a stiff neck in a "
                       "patient with an intrathecal catheter may be meningitis (seed 001)"))
    if _pocket_fill_suspected(names, facts):
        levels.append((Disposition.EMERGENCY, "swelling, pain or fluid at the pump within hours "
                       "of a refill is a suspected pocket fill, an overdose risk (devices.md: "
                       "overdose within hours)"))
    if facts.recovering_from_implant and any(s.name == "headache" for s in reported):
        levels.append((Disposition.CARE_TEAM, "a headache during recovery from the implant may "
                       "be a spinal fluid leak (seed 001)"))

    if not levels:
        disposition = Disposition.ROUTINE
        reason = "No symptoms or pump warnings reported: keep the scheduled visits and refills."
    else:
        disposition = max(level for level, _ in levels)
        deciding = [why for level, why in levels if level == disposition]
        reason = _reason_text(disposition, deciding)

    causes = _rank_causes(reported, facts, has_withdrawal_sign, has_overdose_sign)
    tell = _tell_the_team(reported, facts, causes, disposition)
    return TriageResult(disposition, causes, reason, tell, tuple(names))


def _meningitis_suspected(names: list[str]) -> bool:
    return bool(_FEVERS.intersection(names)) and bool(_MENINGEAL.intersection(names))


def _pocket_fill_suspected(names: list[str], facts: PumpFacts) -> bool:
    return facts.within_hours_of_refill and bool(_AT_THE_PUMP.intersection(names))


def _reason_text(disposition: Disposition, deciding: list[str]) -> str:
    # Seed 003 says "contact your doctor immediately", seed 004 "as soon as possible" for a
    # pump that may not work: those reasons make the call to the care team urgent.
    urgent = any("immediately" in why or "as soon as possible" in why for why in deciding)
    lead = {
        Disposition.EMERGENCY: "Call 911 or local emergency services now",
        Disposition.CARE_TEAM: "Call the care team now" if urgent else
                               "Call the care team today (now if it gets worse)",
        Disposition.ROUTINE: "Routine: mention it to the care team at the next contact; "
                             "side effects are usually managed by adjusting the dose",
    }[disposition]
    return f"{lead}. Because: " + "; ".join(deciding) + "."


def _rank_causes(reported: list[Symptom], facts: PumpFacts, has_withdrawal_sign: bool,
                 has_overdose_sign: bool) -> tuple[Cause, ...]:
    weight: dict[Cause, float] = {}
    for s in reported:
        causes = s.causes
        for c in causes:
            # A symptom that points to one cause only is stronger evidence for it.
            weight[c] = weight.get(c, 0.0) + (2.0 if len(causes) == 1 else 1.0)

    def boost(cause: Cause, amount: float) -> None:
        weight[cause] = weight.get(cause, 0.0) + amount

    if facts.alarm_heard:
        boost(Cause.PUMP_OR_CATHETER, 3.5)
        if has_withdrawal_sign or facts.alarm_tone is AlarmTone.CRITICAL:
            boost(Cause.WITHDRAWAL, 3.0)
    if facts.refill_overdue:
        boost(Cause.WITHDRAWAL, 3.0)
        boost(Cause.PUMP_OR_CATHETER, 1.0)
    if facts.near_refill_or_program_change and (has_overdose_sign or any(
            s.name in _OVERDOSE_LOOKALIKES for s in reported)):
        boost(Cause.OVERDOSE, 4.0)
    names = [s.name for s in reported]
    if _meningitis_suspected(names):
        boost(Cause.MENINGITIS, 6.0)
    if _pocket_fill_suspected(names, facts):
        boost(Cause.OVERDOSE, 6.0)
    if facts.recovering_from_implant and any(
            {Cause.INFECTION, Cause.SURGICAL_SITE} & set(s.causes) for s in reported):
        boost(Cause.SURGICAL_SITE, 2.0)
    # Ties: the cause a symptom's sources name first (its main reading), then danger order.
    first_named: dict[Cause, int] = {}
    for s in reported:
        for rank, c in enumerate(s.causes):
            first_named[c] = min(first_named.get(c, rank), rank)
    order = {c: i for i, c in enumerate(_CAUSE_ORDER)}
    return tuple(sorted(weight, key=lambda c: (-weight[c], first_named.get(c, 99), order[c])))


_CAUSE_WORDS = {
    Cause.WITHDRAWAL: "baclofen withdrawal (loss of drug)",
    Cause.OVERDOSE: "baclofen overdose",
    Cause.INFECTION: "an infection",
    Cause.PUMP_OR_CATHETER: "a pump or catheter problem",
    Cause.SURGICAL_SITE: "a problem at the surgical site",
    Cause.SIDE_EFFECT: "a side effect of baclofen",
    Cause.MENINGITIS: "meningitis (infection around the spinal cord and brain)",
}


def _tell_the_team(reported: list[Symptom], facts: PumpFacts, causes: tuple[Cause, ...],
                   disposition: Disposition) -> tuple[str, ...]:
    lines = ["I have an implanted intrathecal baclofen pump."]
    if reported:
        lines.append("Symptoms: " + ", ".join(s.words for s in reported) + ".")
    described = facts.described()
    if described:
        lines.append("Pump: " + "; ".join(described) + ".")
    if causes:
        lines.append("Possible cause: " + ", or ".join(_CAUSE_WORDS[c] for c in causes[:2]) + ".")
    if disposition is Disposition.EMERGENCY:
        # Seed 004: withdrawal and overdose can be life-threatening, reversible if treated
        # quickly; seed 003: the drug does not enter the bloodstream (plasma ~100x lower).
        lines.append("Baclofen withdrawal and overdose can be life-threatening; they are "
                     "usually reversible if treated quickly.")
    if facts.alarm_heard or Cause.PUMP_OR_CATHETER in causes[:2]:
        lines.append("Please check the pump (interrogate it, reservoir volume, catheter).")
    return tuple(lines)
