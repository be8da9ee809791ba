"""The patient: CSF pharmacokinetics, spasticity, withdrawal, overdose and symptom triage.

Public API (see docs/physiology.md):
- `typical_patient`, `draw_patient`, `Population`, `PatientParameters`: who the patient is;
- `Patient`, `DrugDelivery`, `Route`: feed the drug that truly arrived, read back
  `PatientTrace` samples and `PatientState` (concentrations, Ashworth score, spasms,
  withdrawal and overdose stages, symptoms in the triage vocabulary);
- `screening_response`: how a screening bolus would be judged (positive, hours relaxed);
- `triage`, `PumpFacts`, `AlarmTone`: the seeds' "when to call".
"""

from itb.physiology.patient import DrugDelivery, Patient, PatientState, PatientTrace, Route
from itb.physiology.pk import CsfKinetics
from itb.physiology.population import (
    PatientParameters,
    Population,
    draw_patient,
    typical_patient,
)
from itb.physiology.screening import ScreeningResponse, screening_response
from itb.physiology.symptoms import SYMPTOM_NAMES, Cause, Disposition
from itb.physiology.triage import AlarmTone, PumpFacts, TriageResult, triage

__all__ = [
    "SYMPTOM_NAMES",
    "AlarmTone",
    "Cause",
    "CsfKinetics",
    "Disposition",
    "DrugDelivery",
    "Patient",
    "PatientParameters",
    "PatientState",
    "PatientTrace",
    "Population",
    "PumpFacts",
    "Route",
    "ScreeningResponse",
    "TriageResult",
    "draw_patient",
    "screening_response",
    "triage",
    "typical_patient",
]
