"""The handler shapes every kind of a patient's record repeats, made once: list a patient's
records, add one, read one, change one at the version read, soft delete one at that version.

Each handler only reads the request and calls its service function (which checks the
role, the fields and the version, and audits); the routes keep their own names, so the
OpenAPI schema's operation ids and summaries are those of hand-written handlers
(`read_implant` → "Read Implant"). A handler's path id is named by its kind (`implant_id`,
`visit_id`), so its signature is built here rather than written out."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from itb.clinic.api.common import IdPath, VersionQuery, changes
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

# what every handler takes besides its own: the transaction, the user, the clock
_CONTEXT = {"session": SessionDep, "actor": ActorDep, "now": NowDep}
# what a body gives its service: the changed fields, mostly (a booking for appointments)
Fields = Callable[[Any], Any]


def set_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a body set (a POST's: absent ones take the service's defaults)."""
    return body.model_dump(exclude_unset=True)


def given_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a body gave a value (null means "not given")."""
    return body.model_dump(exclude_none=True)


def handler(name: str, params: dict[str, Any], call: Callable[..., Any],
            doc: str | None = None) -> Callable[..., Any]:
    """A function named `name` whose signature (read by FastAPI) is `params` and the
    context; it passes its arguments to `call` by name."""

    def endpoint(**arguments: Any) -> Any:
        return call(**arguments)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
         for key, annotation in {**params, **_CONTEXT}.items()])
    return endpoint


@dataclass(frozen=True)
class RecordRoutes:
    """The routes of one kind of record: `/api/patients/{patient_id}/<listed>` and
    `<base>/{<one>_id}`. `out` turns a stored record into its answer model `out_model`."""

    router: APIRouter
    one: str  # "implant": read_implant, update_implant, delete_implant, {implant_id}
    base: str  # "/api/implants"
    listed: str  # "implants": /api/patients/{patient_id}/implants
    out_model: type[BaseModel]
    out: Callable[[Any], BaseModel] | None = None
    short_id: str = ""  # the path's id when not `<one>_id` ("change" for program_change)

    @property
    def id_name(self) -> str:
        return f"{self.short_id or self.one}_id"

    @property
    def one_path(self) -> str:
        return f"{self.base}/{{{self.id_name}}}"

    @property
    def patient_path(self) -> str:
        return f"/api/patients/{{patient_id}}/{self.listed}"

    def answer(self, record: Any) -> BaseModel:
        if self.out is not None:
            return self.out(record)
        return self.out_model.model_validate(record, from_attributes=True)

    def listing(self, name: str, service: Callable[..., list[Any]]) -> None:
        """GET the patient's records of this kind (newest first)."""
        def call(patient_id: int, session: Any, actor: Any, now: Any) -> list[BaseModel]:
            return [self.answer(r) for r in service(session, actor, patient_id, now=now)]

        self.router.add_api_route(
            self.patient_path, handler(name, {"patient_id": IdPath}, call), methods=["GET"],
            name=name, response_model=list[self.out_model])

    def add(self, name: str, body: type[BaseModel], service: Callable[..., Any], *,
            fields: Fields = set_fields, doc: str | None = None) -> None:
        """POST a new record of this kind for the patient (201)."""
        def call(patient_id: int, body: BaseModel, session: Any, actor: Any,
                 now: Any) -> BaseModel:
            return self.answer(service(session, actor, patient_id, fields(body), now=now))

        self.router.add_api_route(
            self.patient_path, handler(name, {"patient_id": IdPath, "body": body}, call, doc),
            methods=["POST"], name=name, status_code=201, response_model=self.out_model)

    def read(self, service: Callable[..., Any]) -> None:
        """GET one record (404 if missing or soft-deleted)."""
        def call(session: Any, actor: Any, now: Any, **path: int) -> BaseModel:
            return self.answer(service(session, actor, path[self.id_name], now=now))

        name = f"read_{self.one}"
        self.router.add_api_route(self.one_path, handler(name, {self.id_name: IdPath}, call),
                                  methods=["GET"], name=name, response_model=self.out_model)

    def update(self, body: type[BaseModel], service: Callable[..., Any], *,
               fields: Fields = changes) -> None:
        """PATCH one record at the version the body names (409 if stale)."""
        def call(body: Any, session: Any, actor: Any, now: Any, **path: int) -> BaseModel:
            return self.answer(service(session, actor, path[self.id_name], fields(body),
                                       version=body.version, now=now))

        name = f"update_{self.one}"
        params = {self.id_name: IdPath, "body": body}
        self.router.add_api_route(self.one_path, handler(name, params, call),
                                  methods=["PATCH"], name=name, response_model=self.out_model)

    def delete(self, service: Callable[..., Any]) -> None:
        """DELETE (soft) one record at `?version=` (204)."""
        def call(version: int, session: Any, actor: Any, now: Any, **path: int) -> None:
            service(session, actor, path[self.id_name], version=version, now=now)

        name = f"delete_{self.one}"
        params = {self.id_name: IdPath, "version": VersionQuery}
        self.router.add_api_route(self.one_path, handler(name, params, call),
                                  methods=["DELETE"], name=name, status_code=204,
                                  response_model=None)
