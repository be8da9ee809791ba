"""/api/recordings: the programmer's journal entries, each recorded once (itb.clinic.recording).

`POST /api/recordings` with one journal entry plus its `session` and `seq`: 201 with what it
became; 200 with the same answer when that (session, seq) was recorded before (a retry, a
second sync); 409 if it was recorded with other content; 404 if no patient has the pump's
serial implanted; 422 naming the field of a bad value; 403 unless a clinician or nurse.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from itb.clinic import recording
from itb.clinic.api.common import ERRORS, MAX_ID, ErrorOut, Line, Lines, Strict
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

router = APIRouter(prefix="/api/recordings", tags=["recordings"], responses={
    **ERRORS, 503: {"model": ErrorOut, "description": "The same entry is being recorded by "
                    "another request: send it again"}})


Short = Line(64)
Word = Line(32, 1)
Text64 = Line(64, 1)
Outcome = Line(200, 1)
Summary = Lines(4000)


class JournalEntryIn(Strict):
    """One line of the programmer's session journal (itb.programmer.journal), with its
    session id and its sequence number in the session."""

    format: Short | None = None
    at: Text64 = Field(description="ISO-8601 with a UTC offset")
    kind: Word
    serial: Text64
    pump_time: Short | None = None
    outcome: Outcome
    summary: Summary
    details: dict[str, Any] = Field(default_factory=dict)
    session: Text64
    seq: int = Field(ge=1, le=MAX_ID, strict=True)


class RecordingOut(BaseModel):
    recording_id: int
    session: str
    seq: int
    patient_id: int
    visit_id: int
    entity: str = Field(description="interrogations, refills, program_changes or session_acts")
    record_id: int
    new: bool = Field(description="False: recorded before; this is the first result")


@router.post("", status_code=201, responses={
    200: {"model": RecordingOut, "description": "Recorded before: the first result again."}})
def post_recording(body: JournalEntryIn, response: Response, session: SessionDep,
                   actor: ActorDep, now: NowDep) -> RecordingOut:
    result = recording.record_entry(session, actor, body.model_dump(), now=now)
    if not result.new:
        response.status_code = 200
    return RecordingOut(**result.to_json())
