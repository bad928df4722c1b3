"""The OpenAPI 3.1 document served at `/openapi.json`, generated from the routes: each endpoint carries its
operation (`@operation`), path parameters come from the route's path, the token requirement from `@guarded`,
and the schemas from the views the endpoints take and return."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

from services.display.views import NAME, ErrorView
from shared import __version__

F = TypeVar("F", bound=Callable[..., Any])

_REF = "#/components/schemas/{model}"
_PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {  # path parameters that are more than any string
    "room": {"type": "string", "pattern": NAME.pattern},
    "image_id": {"type": "string", "format": "uuid"},
}
_GUARD_ERRORS = ("401", "403")  # what @guarded answers: no token, or a write from another site

Answer = type[BaseModel] | list[type[BaseModel]] | dict[str, Any] | str


def operation(summary: str, ok: tuple[int, Answer] = (200, "OK"), errors: Sequence[int] = (),
              query: Sequence[dict[str, Any]] = (), body: type[BaseModel] | dict[str, Any] | None = None,
              description: str = "OK", also: Mapping[int, Answer] | None = None) -> Callable[[F], F]:
    """Describe an endpoint for the document: its success answer (a view, a list of one, a JSON schema, a
    `{"content": ...}` map, or a description), other answers (`also`), the statuses it refuses with (an
    ErrorView), query parameters and request body (a view, or a content map)."""
    def mark(endpoint: F) -> F:
        endpoint.openapi = {  # type: ignore[attr-defined]
            "summary": summary, "ok": ok, "errors": tuple(str(e) for e in errors), "query": list(query),
            "body": body, "description": description, "also": dict(also or {}),
        }
        return endpoint

    return mark


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {ErrorView}
    bodies: set[type[BaseModel]] = set()
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        while isinstance(endpoint, functools.partial):  # a route bound to its wing's object
            endpoint = endpoint.func
        spec = getattr(endpoint, "openapi", None)
        if not isinstance(route, Route) or spec is None:
            continue
        guarded = getattr(endpoint, "guarded", False)
        op: dict[str, Any] = {"summary": spec["summary"]}
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": _PARAMETER_SCHEMAS.get(name, {"type": "string"})} for name in route.param_convertors]
        if parameters or spec["query"]:
            op["parameters"] = parameters + spec["query"]
        if guarded:
            op["security"] = [{"token": []}]
        body = spec["body"]
        if isinstance(body, type):
            bodies.add(body)
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
        elif body is not None:
            op["requestBody"] = {"required": True, "content": body}
        status, answer = spec["ok"]
        op["responses"] = {str(status): _answer(answer, spec["description"], models)}
        op["responses"].update({str(code): _answer(more, "", models) for code, more in spec["also"].items()})
        errors = sorted({*spec["errors"], *(_GUARD_ERRORS if guarded else ())})
        op["responses"].update({code: _json(_ref(ErrorView), "refused; `error` says why") for code in errors})
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(route.path, {})[method.lower()] = op
    _, defs = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)]
                                 + [(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)],
                                 ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Voxframe display", "version": __version__,
                 "description": "Frames, gallery, controls and uploads. Websockets (not described here): "
                                "/ws/frame/{room}, /ws/dashboard, /ws/jobs/{job_id}, /ws/mic/{room}?name= (a browser "
                                "mic: 16 kHz mono s16le binary frames in)."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": defs.get("$defs", {}),
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "only when VOXFRAME_DISPLAY_TOKEN is set"}}},
    }


def _answer(answer: Answer, description: str, models: set[type[BaseModel]]) -> dict[str, Any]:
    if isinstance(answer, list):
        models.add(answer[0])
        return _json({"type": "array", "items": _ref(answer[0])}, description)
    if isinstance(answer, type):
        models.add(answer)
        return _json(_ref(answer), description)
    if isinstance(answer, dict) and "content" in answer:
        return {"description": description, **answer}
    if isinstance(answer, dict):
        return _json(answer, description)
    return {"description": answer}


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A query parameter for `operation(query=...)`."""
    return {"name": name, "in": "query", "schema": schema, **({"description": description} if description else {})}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}
