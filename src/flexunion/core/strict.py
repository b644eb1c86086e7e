"""JSON bodies decoded strictly into the type the handler declares.

Litestar decodes a JSON body into plain Python values, then converts them to the handler's
`data` type with `msgspec.convert(..., strict=False)`, which takes `0` for `false`, `"1"` for
an integer and `"true"` for a boolean. The app's request class decodes the body straight
into the declared type with `strict=True` instead (msgspec's JSON rules: a boolean is `true`
or `false`, a number a JSON number); Litestar's conversion then finds the value already of
its type and passes it through. Errors keep Litestar's shape (422 `validation_failed` with
`errors: [{key, source: "body", message}]`; 400 `malformed_request` for a body that is not
JSON, or nested too deeply to read)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException, ValidationException
from litestar.params import BodyKwarg

_NO_DECODER = object()
_decoders: dict[Any, Any] = {}
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)


def _decoder_for(handler: Any) -> msgspec.json.Decoder[Any] | None:
    """A strict decoder for the handler's JSON `data`, or None (no JSON body declared, a
    DTO, or a type msgspec cannot decode by itself: Litestar's own path then)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None or handler.resolve_data_dto() is not None:
        return None
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return None
    decoders = tuple(handler.resolve_type_decoders() or ())
    key: Any = (data.annotation, decoders)
    try:
        found = _decoders.get(key)
    except TypeError:  # an unhashable annotation: build it each time
        key, found = None, None
    if found is None:
        try:
            found = msgspec.json.Decoder(data.annotation, strict=True,
                                         dec_hook=handler.default_deserializer)
        except (TypeError, ValueError):
            found = _NO_DECODER
        if key is not None:
            _decoders[key] = found
    return found if isinstance(found, msgspec.json.Decoder) else None


def _field_error(exc: msgspec.ValidationError) -> dict[str, str]:
    match = _AT.match(str(exc))
    message, path = (match["message"], match["path"]) if match else (str(exc), None)
    key = (path or "").removeprefix(".") or "body"
    return {"message": message, "key": key, "source": "body"}


class StrictRequest(Request[Any, Any, Any]):
    """The app's request class: `json()` decodes into the handler's declared body type,
    strictly (see the module docstring)."""

    async def json(self) -> Any:
        decoder = _decoder_for(self.route_handler)
        if decoder is None:
            return await super().json()
        body = await self.body()
        try:
            return decoder.decode(body or b"null")
        except msgspec.ValidationError as exc:
            raise ValidationException(detail=f"Validation failed for {self.method} {self.url.path}",
                                      extra=[_field_error(exc)]) from exc
        except (msgspec.DecodeError, RecursionError) as exc:
            raise SerializationException(str(exc)) from exc
