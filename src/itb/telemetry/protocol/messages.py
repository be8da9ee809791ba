"""The typed messages carried inside sealed frames: commands and their answers.

Every command is a frozen dataclass registered in `REQUESTS` with a unique KIND and
the roles allowed to give it (`ROLES`), made so by `@request(kind, roles)`; every answer
is registered in `RESPONSES` by `@response(kind)`.
The pump checks the role before the command reaches the pump adapter, and the
adapter validates every argument again against the pump's own limits.

Command schemas live in `itb.telemetry.protocol.commands`; this module holds the registries
and the typed error answer, which the link itself needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeVar, dataclass_transform

from itb.errors import InvalidInput
from itb.telemetry.protocol.codec import Message, Registry
from itb.telemetry.protocol.keys import Role

REQUESTS = Registry("request")
RESPONSES = Registry("response")

CLINICIAN_ONLY: frozenset[Role] = frozenset({Role.CLINICIAN})
ANY_ROLE: frozenset[Role] = frozenset({Role.CLINICIAN, Role.PATIENT})


class Command(Message):
    """A request from the programmer. `ROLES` lists who may give it."""

    ROLES: ClassVar[frozenset[Role]] = CLINICIAN_ONLY


M = TypeVar("M", bound=Message)


@dataclass_transform(frozen_default=True)
def request(kind: int, roles: frozenset[Role] = CLINICIAN_ONLY) -> Callable[[type[M]], type[M]]:
    """Class decorator: a command, as a frozen slotted dataclass of KIND `kind` that `roles`
    may give, registered in `REQUESTS`."""
    def make(cls: type[M]) -> type[M]:
        cls.KIND = kind
        cls.ROLES = roles  # type: ignore[attr-defined]
        return REQUESTS.register(dataclass(frozen=True, slots=True)(cls))
    return make


@dataclass_transform(frozen_default=True)
def response(kind: int) -> Callable[[type[M]], type[M]]:
    """Class decorator: an answer, as a frozen slotted dataclass of KIND `kind`, registered in
    `RESPONSES`."""
    def make(cls: type[M]) -> type[M]:
        cls.KIND = kind
        return RESPONSES.register(dataclass(frozen=True, slots=True)(cls))
    return make


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "invalid_argument"   # a field outside what the pump allows
    NOT_PERMITTED = "not_permitted"         # the session's role may not give this command
    MALFORMED = "malformed"                 # the message did not parse
    REFUSED = "refused"                     # valid, but the pump's state forbids it now
    INTERNAL = "internal"                   # the pump could not carry it out; nothing changed
    DELAYED = "delayed"                     # arrived too late after it was sent: not acted on


@response(0x7F)
class ErrorResponse(Message):
    """The typed refusal of a command. Nothing in the pump changed."""

    code: ErrorCode
    message: str
    field: str = ""
    value: str = ""
    allowed: str = ""

    @classmethod
    def from_invalid_input(cls, exc: InvalidInput) -> ErrorResponse:
        return cls(ErrorCode.INVALID_ARGUMENT, _bounded(str(exc)), _bounded(exc.field),
                   _bounded(str(exc.value)), _bounded(exc.allowed))


def _bounded(text: str, limit: int = 512) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
