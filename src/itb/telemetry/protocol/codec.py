"""Compact, strict CBOR encoding of typed messages (frozen dataclasses).

A message goes on the wire as the CBOR array ``[kind, [field1, field2, ...]]``: fields
by position, not by name, because a wand link is slow. Field types map as follows:

    int, bool, str, bytes  -> themselves (ints bounded to 64 bits, text and bytes bounded)
    Fraction               -> [numerator, denominator]   (exact doses never become floats)
    datetime (UTC)         -> int seconds since the Unix epoch, or [seconds, microseconds]
    Enum                   -> its value
    tuple[T, ...]          -> array
    T | None               -> null or T
    nested dataclass       -> array of its fields
    A | B (dataclasses)    -> [alternative index, fields]   (a tagged union, e.g. therapy kinds)

Decoding is strict: wrong types, extra or missing fields, floats, tags, maps and
out-of-range numbers are refused with `WireFormatError`, which the link turns into a
typed error response. A message's own `__post_init__` may raise `InvalidInput`,
which the link reports as an invalid-argument error naming the field.
"""

from __future__ import annotations

import dataclasses
import io
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from fractions import Fraction
from functools import cache
from typing import Any, ClassVar, TypeVar

import cbor2

from itb.telemetry.errors import WireFormatError

MAX_TEXT = 1024
MAX_BYTES = 4096
MAX_ITEMS = 2048
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Message:
    """Base of every typed message; subclasses are frozen dataclasses with a unique KIND."""

    KIND: ClassVar[int] = 0


M = TypeVar("M", bound=Message)


class Registry:
    """The message kinds one direction of the link may carry."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._by_kind: dict[int, type[Message]] = {}

    def register(self, cls: type[M]) -> type[M]:
        if not dataclasses.is_dataclass(cls) or cls.KIND in self._by_kind:
            raise TypeError(f"{cls.__name__} must be a dataclass with a unique KIND")
        self._by_kind[cls.KIND] = cls
        return cls

    def kind_of(self, data: bytes) -> type[Message] | None:
        """The message class `data` announces, read from its first bytes only."""
        kind = peek_kind(data)
        return None if kind is None else self._by_kind.get(kind)

    def kinds(self) -> dict[int, type[Message]]:
        return dict(self._by_kind)

    def encode(self, message: Message) -> bytes:
        cls = type(message)
        if self._by_kind.get(cls.KIND) is not cls:
            raise TypeError(f"{cls.__name__} is not a {self.name} message")
        return cbor2.dumps([cls.KIND, _encode_dataclass(message)])

    def decode(self, data: bytes) -> Message:
        raw = loads_strict(data)
        if not (isinstance(raw, list) and len(raw) == 2 and type(raw[0]) is int):
            raise WireFormatError(f"a {self.name} message is [kind, fields]")
        cls = self._by_kind.get(raw[0])
        if cls is None:
            raise WireFormatError(f"unknown {self.name} kind {raw[0]}")
        value = _decode(raw[1], cls, cls.__name__)
        assert isinstance(value, Message)
        return value  # type: ignore[no-any-return]


def loads_strict(data: bytes) -> Any:
    """One CBOR item to plain values, refusing any semantic tag (dates, bignums, regexes...)
    and any byte after the item (a message is exactly one item; trailing bytes would let two
    encodings of the same message differ, issue 17)."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, tag_hook=_refuse_tag, max_depth=16,
                                  allow_duplicate_keys=False, strict_hashable_types=True,
                                  semantic_decoders=_NO_SEMANTICS).decode()
    except WireFormatError:
        raise
    except Exception as exc:  # cbor2 raises several types on hostile input; all mean "malformed"
        raise WireFormatError(f"not valid CBOR: {type(exc).__name__}") from None
    if stream.tell() != len(data):
        raise WireFormatError(f"{len(data) - stream.tell()} bytes after the CBOR item")
    return value


def peek_kind(data: bytes) -> int | None:
    """The kind of a ``[kind, fields]`` message read from its first bytes only, without
    decoding the fields (so a command's role can be checked before it is parsed); None if
    the bytes do not start that way."""
    # 0x82: an array of two items; the kind is an unsigned int, inline below 24 or in 1 byte.
    if len(data) >= 2 and data[0] == 0x82 and data[1] < 24:
        return data[1]
    if len(data) >= 3 and data[0] == 0x82 and data[1] == 0x18:
        return data[2]
    return None


def _refuse_tag(decoder: Any, tag: Any) -> Any:
    raise WireFormatError(f"CBOR tag {tag.tag} is not allowed")


def _refuse_semantic(decoder: Any) -> Any:
    raise WireFormatError("CBOR semantic tags are not allowed")


# Every built-in semantic tag cbor2 knows is refused; unknown tags hit tag_hook.
_NO_SEMANTICS: dict[int, Callable[[Any], Any]] = {
    tag: _refuse_semantic
    for tag in (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261,
                1004, 55799)
}


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value)


@cache
def _hints(cls: type) -> tuple[tuple[str, Any], ...]:
    resolved = typing.get_type_hints(cls)
    return tuple((f.name, resolved[f.name]) for f in dataclasses.fields(cls) if f.init)


# Encoders and decoders are compiled once per type into plain closures: the reflection
# over type hints happens at first use, not for every value on the wire.
Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _encode_dataclass(obj: Any) -> Any:
    return _encoder(type(obj))(obj)


def _identity(value: Any) -> Any:
    return value


@cache
def _encoder(tp: Any) -> Encoder:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            one = _encoder(inner[0])
            return lambda value: None if value is None else one(value)
        alternatives = {cls: (index, _encoder(cls)) for index, cls in enumerate(inner)}

        def union(value: Any) -> Any:
            if value is None:
                return None
            index, encode = alternatives[type(value)]
            return [index, encode(value)]
        return union
    if origin is tuple:
        item = _encoder(typing.get_args(tp)[0])
        if item is _identity:
            return list
        return lambda value: [item(v) for v in value]
    if tp is Fraction:
        return lambda value: [value.numerator, value.denominator]
    if tp is datetime:
        def moment(value: datetime) -> Any:
            delta = value - _EPOCH
            seconds = delta.days * 86_400 + delta.seconds
            return seconds if not delta.microseconds else [seconds, delta.microseconds]
        return moment
    if isinstance(tp, type) and issubclass(tp, Enum):
        return lambda value: value.value
    if dataclasses.is_dataclass(tp):
        fields = tuple((name, _encoder(ftp)) for name, ftp in _hints(tp))
        return lambda obj: [encode(getattr(obj, name)) for name, encode in fields]
    if tp in (int, bool, str, bytes):
        return _identity
    raise TypeError(f"type {tp!r} has no wire encoding")


def _decode(raw: Any, tp: Any, where: str) -> Any:
    try:
        return _decoder(tp)(raw)
    except WireFormatError as exc:
        raise WireFormatError(f"{where}{exc}") from None


def _exact_type(kind: type, max_len: int | None, expected: str) -> Decoder:
    """A decoder that takes only `kind` itself (no subclass: True is not an int here), and
    at most `max_len` long, so a peer cannot make us hold more than one frame's worth."""
    def check(raw: Any) -> Any:
        if type(raw) is not kind or (max_len is not None and len(raw) > max_len):
            raise WireFormatError(f": expected {expected}")
        return raw
    return check


@cache
def _decoder(tp: Any) -> Decoder:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return _union_decoder(tp)
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])

        def sequence(raw: Any) -> Any:
            if type(raw) is not list or len(raw) > MAX_ITEMS:
                raise WireFormatError(f": expected a list of at most {MAX_ITEMS} items")
            out = []
            for i, v in enumerate(raw):
                try:
                    out.append(item(v))
                except WireFormatError as exc:
                    raise WireFormatError(f"[{i}]{exc}") from None
            return tuple(out)
        return sequence
    if tp is bool:
        return _exact_type(bool, None, "true or false")
    if tp is int:
        return lambda raw: _int(raw, "")
    if tp is str:
        return _exact_type(str, MAX_TEXT, f"text of at most {MAX_TEXT} characters")
    if tp is bytes:
        return _exact_type(bytes, MAX_BYTES, f"at most {MAX_BYTES} bytes")
    if tp is Fraction:
        return _fraction
    if tp is datetime:
        return _moment
    if isinstance(tp, type) and issubclass(tp, Enum):
        enum = tp

        def member(raw: Any) -> Any:
            try:
                return enum(raw)
            except (ValueError, TypeError):
                raise WireFormatError(f": {raw!r} is not one of "
                                      f"{[m.value for m in enum]}") from None
        return member
    if dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    raise TypeError(f"type {tp!r} has no wire encoding")


def _union_decoder(tp: Any) -> Decoder:
    inner = [a for a in typing.get_args(tp) if a is not type(None)]
    optional = len(inner) < len(typing.get_args(tp))
    if len(inner) == 1:
        one = _decoder(inner[0])

        def maybe(raw: Any) -> Any:
            if raw is None:
                if not optional:
                    raise WireFormatError(": a value is required")
                return None
            return one(raw)
        return maybe
    alternatives = [_decoder(cls) for cls in inner]

    def union(raw: Any) -> Any:
        if raw is None:
            if not optional:
                raise WireFormatError(": a value is required")
            return None
        if not (type(raw) is list and len(raw) == 2 and type(raw[0]) is int
                and 0 <= raw[0] < len(alternatives)):
            raise WireFormatError(f": expected [alternative 0..{len(alternatives) - 1}, fields]")
        return alternatives[raw[0]](raw[1])
    return union


def _dataclass_decoder(cls: Any) -> Decoder:
    fields = tuple((name, _decoder(ftp)) for name, ftp in _hints(cls))
    count = len(fields)

    def record(raw: Any) -> Any:
        if type(raw) is not list or len(raw) != count:
            raise WireFormatError(f": {cls.__name__} expects {count} fields")
        values = {}
        for (name, decode), value in zip(fields, raw, strict=True):
            try:
                values[name] = decode(value)
            except WireFormatError as exc:
                raise WireFormatError(f".{name}{exc}") from None
        return cls(**values)
    return record


def _fraction(raw: Any) -> Fraction:
    if not (type(raw) is list and len(raw) == 2):
        raise WireFormatError(": expected [numerator, denominator]")
    numerator, denominator = _int(raw[0], ""), _int(raw[1], "")
    if denominator <= 0:
        raise WireFormatError(": denominator must be positive")
    return Fraction(numerator, denominator)


def _moment(raw: Any) -> datetime:
    if type(raw) is list and len(raw) == 2:
        seconds, micros = _int(raw[0], ""), _int(raw[1], "")
        if not 0 < micros < 1_000_000:
            raise WireFormatError(": microseconds must be 1 to 999999")
    else:
        seconds, micros = _int(raw, ""), 0
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=micros)
    except OverflowError:
        raise WireFormatError(": time out of range") from None


def _int(raw: Any, where: str) -> int:
    if type(raw) is not int or not INT_MIN <= raw <= INT_MAX:
        raise WireFormatError(f"{where}: expected a 64-bit integer")
    return raw


def encoded_size(value: Any) -> int:
    """Bytes a dataclass value takes inside a message (to cut pages to fit a frame)."""
    return len(cbor2.dumps(_encode_dataclass(value)))
