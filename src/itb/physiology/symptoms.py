"""The symptom vocabulary shared by the patient model and triage, with where each comes from.

Every name is kebab-case and is what a patient or carer would report. Each symptom
lists the seed (or label) passages that name it, the cause that passage ties it to,
and the instruction that passage gives. Triage (`itb.physiology.triage`) decides from
these listings; the patient model reports only names from this vocabulary, so the
simulator can triage what a simulated patient says.

Instructions, as the seeds word them:
- EMERGENCY: seed 004 "When to Call": "Contact 911 or your local emergency services number
  right away if you experience symptoms suggestive of ... Withdrawal (...) ... Overdose (...)".
  We read "suggestive of overdose" with the full overdose list of seed 004's "Baclofen
  overdose symptoms" section (which adds low blood pressure and trouble moving).
- CARE_TEAM: seed 004 "Contact your healthcare provider if you notice symptoms of an
  infection"; seed 003 "Contact your doctor immediately" (its withdrawal list).
- ROUTINE: seed 001 common side effects, "usually temporary ... we can usually manage them
  by adjusting your dosage"; expected post-operative discomfort (seed 001).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from itb.errors import InvalidInput


class Disposition(IntEnum):
    """How urgently to act, ordered so that max() gives the most urgent."""

    ROUTINE = 0
    CARE_TEAM = 1
    EMERGENCY = 2

    @property
    def label(self) -> str:
        return {0: "routine", 1: "call-care-team", 2: "emergency"}[int(self)]


class Cause(StrEnum):
    WITHDRAWAL = "withdrawal"
    OVERDOSE = "overdose"
    INFECTION = "infection"
    PUMP_OR_CATHETER = "pump-or-catheter-problem"
    SURGICAL_SITE = "surgical-site-problem"
    SIDE_EFFECT = "side-effect"
    MENINGITIS = "meningitis"


@dataclass(frozen=True)
class Listing:
    """One source passage naming a symptom: the cause it ties it to and its instruction."""

    cause: Cause
    instruction: Disposition
    source: str


@dataclass(frozen=True)
class Symptom:
    name: str
    words: str  # how a person would say it, for the team
    listings: tuple[Listing, ...]

    @property
    def causes(self) -> tuple[Cause, ...]:
        return tuple(dict.fromkeys(listing.cause for listing in self.listings))

    @property
    def instruction(self) -> Disposition:
        return max(listing.instruction for listing in self.listings)


W, OD, INF = Cause.WITHDRAWAL, Cause.OVERDOSE, Cause.INFECTION
MEN = Cause.MENINGITIS
DEV, SURG, SIDE = Cause.PUMP_OR_CATHETER, Cause.SURGICAL_SITE, Cause.SIDE_EFFECT
E, C, R = Disposition.EMERGENCY, Disposition.CARE_TEAM, Disposition.ROUTINE

# Seed passages, quoted briefly so each mapping can be checked against ../shared/seeds/.
S004_W = "seed 004 When to Call: withdrawal (itchy skin, sweating, muscle stiffness or spasms, " \
         "low-grade fever, dizziness or lightheaded, seizures) -> 911"
S004_O = "seed 004 When to Call: overdose (drowsiness, weakness, difficulty breathing, low body " \
         "temperature, seizures, loss of consciousness) -> 911"
S004_OS = "seed 004 Baclofen overdose symptoms (adds very loose and weak muscles, difficulty " \
          "standing up, sitting up or moving, low blood pressure) -> 911 when suggestive"
S004_I = "seed 004 When to Call: infection (a fever, skin discoloration or swelling over the " \
         "pump or in your back, drainage from the incisions, pain) -> contact provider"
S003_W = "seed 003 withdrawal (dizziness, extreme sweating, fever, itchy skin without a rash, " \
         "nausea, seizures, severe muscle spasms or stiffness, severe pain where the pump was " \
         "implanted) -> contact your doctor immediately"
S003_O = "seed 003 overdose (difficulty breathing, drowsiness, loss of consciousness, low blood " \
         "pressure or body temperature, muscle weakness, seizures, trouble moving) -> contact " \
         "your doctor immediately"
S001_SE = "seed 001 common side effects (loose muscles, sleepiness, upset stomach and " \
          "vomiting, headaches, dizziness): usually temporary, managed by adjusting the dose"
S004_SE = "seed 004: the most common side effect is increased weakness; may improve by " \
          "reducing the dose"
S001_SURG = "seed 001 surgical complications (infection, meningitis, spinal fluid leak, " \
            "paralysis, headache, swelling, bleeding, bruising)"
S001_POSTOP = "seed 001: after surgery, some discomfort and tenderness at the pump and " \
              "catheter sites"
S000_SURG = "seed 000 surgical risks: pain, numbness, weakness or paralysis due to nerve damage"
S004_DEV = "seed 004 device complications: skin breakdown with exposure of the pump or " \
           "catheter; seed 003: skin damage due to contact with the pump or catheter"
LABEL_W = "labeling boxed warning: early signs of withdrawal are return of baseline " \
          "spasticity, pruritus, hypotension and paresthesias; abrupt discontinuation can " \
          "cause high fever, altered mental status, rebound spasticity and rigidity, " \
          "progressing to rhabdomyolysis, organ failure and death (devices.md)"
LABEL_OD = "labeling overdose: drowsiness, light-headedness, dizziness, somnolence, " \
           "respiratory depression, seizures, rostral hypotonia, loss of consciousness " \
           "progressing to coma (devices.md)"
LABEL_T6 = "labeling boxed warning: special attention to patients at risk of withdrawal, " \
           "e.g. spinal cord injuries at T-6 or above (lioresal.com important safety " \
           "information), where withdrawal can show as autonomic dysreflexia"
LABEL_HALLUCINATIONS = "labeling (precautions): if dosing is discontinued, manifestations " \
                       "of withdrawal (e.g. hallucinations, seizures) could emerge; " \
                       "[NSWIKI] hallucinations in more significant withdrawal"
ORAL_LABEL_OD = "oral baclofen labeling, overdosage: confusion, hallucinations, " \
                "tachycardia, nausea, vomiting among the signs (MIMS, baclofen tablets); " \
                "Leung et al., Emerg Med Australas 2006;18:77-82: sinus tachycardia in 5 of " \
                "23 overdoses"
WITHDRAWAL_AUTONOMIC = "labeling boxed warning (withdrawal: high fever, altered mental " \
                       "status; autonomic instability with a fast heart rate in severe " \
                       "withdrawal, emergpa.net baclofen toxicity, *unconfirmed* wording)"
S001_MEN = "seed 001 surgical complications include meningitis; fever with headache or a " \
           "stiff neck in a patient with an intrathecal catheter is treated as possible " \
           "meningitis, an emergency (*unconfirmed* rule, issue 16.9)"
S001_LEAK = "seed 001 (and 000, 004): spinal fluid leak after surgery; a headache on sitting " \
            "or standing that eases lying down is the leak's typical sign (*unconfirmed*)"
S003_NAUSEA = "seed 003 withdrawal lists nausea (contact your doctor immediately); vomiting " \
              "is its stronger form, so it is triaged at least as urgently"
DEV_LOSS = "seed 004 device complications (catheter blockage, migration; pump failure): a " \
           "gradual loss of effect prompts a pump and catheter check (Saulino et al., " \
           "Neuromodulation 2016;19(6):632-41, best practices: troubleshooting, via " \
           "lioresal.com)"


def _s(name: str, words: str, *listings: tuple[Cause, Disposition, str]) -> Symptom:
    return Symptom(name, words, tuple(Listing(c, d, s) for c, d, s in listings))


VOCABULARY: tuple[Symptom, ...] = (
    # Withdrawal signs (seed 004 -> 911; seed 003 -> doctor immediately).
    _s("itchy-skin", "itchy skin without a rash", (W, E, S004_W), (W, C, S003_W)),
    _s("sweating", "sweating", (W, E, S004_W)),
    _s("extreme-sweating", "extreme sweating", (W, E, S004_W), (W, C, S003_W)),
    _s("muscle-stiffness", "muscle stiffness, worse than usual", (W, E, S004_W),
       (W, C, S003_W)),
    _s("muscle-spasms", "muscle spasms, more than usual", (W, E, S004_W)),
    _s("severe-muscle-spasms", "severe muscle spasms or stiffness", (W, E, S004_W),
       (W, C, S003_W)),
    _s("low-grade-fever", "a low-grade fever", (W, E, S004_W)),
    _s("dizziness", "dizziness", (W, E, S004_W), (W, C, S003_W), (SIDE, R, S001_SE)),
    _s("lightheadedness", "feeling lightheaded", (W, E, S004_W), (OD, E, LABEL_OD)),
    _s("autonomic-dysreflexia", "autonomic dysreflexia: pounding headache, flushing or "
       "sweating above the injury, very high blood pressure (spinal cord injury at T6 or above)",
       (W, E, LABEL_T6)),
    _s("hallucinations", "hallucinations, seeing or hearing things that are not there",
       (W, E, LABEL_HALLUCINATIONS), (OD, E, ORAL_LABEL_OD)),
    _s("fast-heart-rate", "a fast heart rate", (W, C, WITHDRAWAL_AUTONOMIC),
       (OD, C, ORAL_LABEL_OD)),
    _s("seizures", "a seizure", (W, E, S004_W), (OD, E, S004_O), (W, C, S003_W),
       (OD, C, S003_O)),
    # Seed 003 only: "contact your doctor immediately".
    _s("fever", "a fever", (INF, C, S004_I), (W, C, S003_W)),
    _s("nausea", "nausea", (W, C, S003_W), (SIDE, R, S001_SE)),
    _s("vomiting", "vomiting", (W, C, S003_NAUSEA), (SIDE, R, S001_SE)),
    _s("severe-pain-at-pump-site", "severe pain where the pump is implanted", (W, C, S003_W),
       (INF, C, S004_I)),
    # Labeling-only withdrawal signs (the seeds give no instruction for these words): the
    # boxed warning's life-threatening syndrome -> emergency; an early sign -> care team.
    _s("high-fever", "a high fever", (W, E, LABEL_W), (INF, C, S004_I)),
    _s("confusion", "confusion or a change in alertness", (W, E, LABEL_W), (OD, E, ORAL_LABEL_OD)),
    _s("tingling", "tingling or pins and needles", (W, C, LABEL_W)),
    # Overdose signs (seed 004 -> 911; seed 003 -> doctor immediately).
    _s("drowsiness", "drowsiness, hard to stay awake", (OD, E, S004_O), (OD, C, S003_O)),
    _s("weakness", "weakness, very loose or weak muscles", (OD, E, S004_O), (OD, C, S003_O),
       (SIDE, R, S004_SE)),
    _s("difficulty-breathing", "difficulty breathing", (OD, E, S004_O), (OD, C, S003_O)),
    _s("low-body-temperature", "low body temperature", (OD, E, S004_O), (OD, C, S003_O)),
    _s("loss-of-consciousness", "loss of consciousness", (OD, E, S004_O), (OD, C, S003_O)),
    # Hypotension is also an early withdrawal sign in the boxed warning.
    _s("low-blood-pressure", "low blood pressure", (OD, E, S004_OS), (OD, C, S003_O),
       (W, E, LABEL_W)),
    _s("trouble-moving", "trouble standing up, sitting up or moving arms and legs",
       (OD, E, S004_OS), (OD, C, S003_O)),
    # Common side effects (seed 001): routine unless pump facts say otherwise.
    _s("loose-muscles", "loose muscles", (SIDE, R, S001_SE)),
    _s("sleepiness", "sleepiness", (SIDE, R, S001_SE)),
    _s("upset-stomach", "an upset stomach", (SIDE, R, S001_SE)),
    _s("headache", "a headache", (SIDE, R, S001_SE), (SURG, R, S001_SURG)),
    _s("postural-headache", "a headache when sitting or standing up that eases lying down, "
       "after a procedure", (SURG, C, S001_LEAK)),
    _s("neck-stiffness", "a stiff neck, hard to bend the head forward", (MEN, C, S001_MEN)),
    _s("gradual-loss-of-effect", "the pump seems to work less and less (spasticity slowly "
       "coming back over days or weeks)", (DEV, C, DEV_LOSS)),
    _s("fluid-at-pump-site", "fluid or a soft bulge under the skin around the pump",
       (INF, C, S004_I)),
    # Infection signs (seed 004 -> contact the healthcare provider).
    _s("skin-discoloration-over-pump", "skin discoloration over the pump", (INF, C, S004_I)),
    _s("swelling-over-pump", "swelling over the pump", (INF, C, S004_I)),
    _s("skin-discoloration-in-back", "skin discoloration in the back (catheter incision)",
       (INF, C, S004_I)),
    _s("swelling-in-back", "swelling in the back (catheter incision)", (INF, C, S004_I)),
    _s("drainage-from-incision", "drainage from an incision", (INF, C, S004_I),
       (SURG, C, S001_SURG)),
    _s("incision-pain", "pain at an incision", (INF, C, S004_I)),
    # Surgical site and device.
    _s("tenderness-at-incision", "some discomfort or tenderness at the incisions",
       (SURG, R, S001_POSTOP)),
    _s("bleeding-from-incision", "bleeding from an incision", (SURG, C, S001_SURG)),
    _s("bruising", "bruising near the incisions", (SURG, R, S001_SURG)),
    _s("numbness", "new numbness", (SURG, C, S000_SURG)),
    _s("skin-breakdown-over-pump", "skin breaking down over the pump or catheter",
       (DEV, C, S004_DEV), (INF, C, S004_I)),
)

BY_NAME: dict[str, Symptom] = {s.name: s for s in VOCABULARY}
SYMPTOM_NAMES: tuple[str, ...] = tuple(sorted(BY_NAME))


def symptom(name: str) -> Symptom:
    """The vocabulary entry for `name` (any letter case, surrounding spaces ignored), or
    InvalidInput listing the known names."""
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        return BY_NAME[key]
    except KeyError:
        raise InvalidInput("symptom", name, "one of: " + ", ".join(SYMPTOM_NAMES)) from None
