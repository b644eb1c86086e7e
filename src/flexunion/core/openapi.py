"""Two things Litestar's OpenAPI generation leaves out, put back for the input side.

- Constraints on the items of a list or the values of a mapping
  (`list[Annotated[str, msgspec.Meta(max_length=32)]]`): msgspec enforces them, Litestar
  documents only the outer type's. `ItemConstraints` documents them (register it in
  `Litestar(plugins=...)`).
- Optional bodies (`data: JSONBody[X | None] = None`): Litestar documents every request body
  as required. `document_optional_bodies(app)` marks them `required: false` in the built
  document, so that it says what the app accepts (such an operation takes no body).
- Closed objects: a struct with `forbid_unknown_fields=True` refuses any other member (422),
  but Litestar does not say so. `document_closed_structs(app)` sets
  `additionalProperties: false` on their component schemas.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Operation, RequestBody, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

_STRING_CONSTRAINTS = ("min_length", "max_length", "pattern")


def _meta(field: FieldDefinition) -> msgspec.Meta | None:
    for item in field.metadata:
        if isinstance(item, msgspec.Meta) and any(
                getattr(item, name) is not None for name in _STRING_CONSTRAINTS):
            return item
    return None


class ItemConstraints(OpenAPISchemaPlugin):
    """A string constrained by `msgspec.Meta` where Litestar did not carry the constraints
    over (an item of a list, a value of a mapping): documented with them."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if field_definition.annotation is not str or _meta(field_definition) is None:
            return False
        kwarg = field_definition.kwarg_definition
        return kwarg is None or all(getattr(kwarg, name, None) is None
                                    for name in _STRING_CONSTRAINTS)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        meta = _meta(field_definition)
        assert meta is not None
        return Schema(type=OpenAPIType.STRING, min_length=meta.min_length,
                      max_length=meta.max_length, pattern=meta.pattern,
                      description=meta.description, title=meta.title,
                      examples=list(meta.examples) if meta.examples else None)


def document_optional_bodies(app: Litestar) -> None:
    """Mark the body of every operation whose `data` is optional as not required, in the
    app's document (built here if it is not yet)."""
    document = app.openapi_schema
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or document.paths is None:
            continue
        item = document.paths.get(route.path_format or "/")
        for method, (handler, _) in route.route_handler_map.items():
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None or not (data.is_optional or data.has_default):
                continue
            op = getattr(item, method.lower(), None) if item else None
            if isinstance(op, Operation) and isinstance(op.request_body, RequestBody):
                op.request_body.required = False


def _structs(root: type[msgspec.Struct] = msgspec.Struct) -> dict[str, type[msgspec.Struct]]:
    """Every flexunion struct by class name (the component name Litestar gives it)."""
    found: dict[str, type[msgspec.Struct]] = {}
    todo = list(root.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("flexunion."):
            found.setdefault(cls.__name__, cls)
    return found


def document_closed_structs(app: Litestar) -> None:
    """`additionalProperties: false` on the components of structs that refuse unknown
    members, in the app's document."""
    components = app.openapi_schema.components
    schemas = components.schemas if components is not None else None
    if not schemas:
        return
    structs = _structs()
    for name, schema in schemas.items():
        cls = structs.get(name)
        if (cls is not None and isinstance(schema, Schema)
                and cls.__struct_config__.forbid_unknown_fields):
            schema.additional_properties = False
