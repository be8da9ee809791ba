"""The patient: CSF pharmacokinetics, spasticity, withdrawal, overdose and symptom triage."""
