"""The OpenAPI 3.1 document served at `/openapi.json`; its schemas come from the views the API returns."""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from services.display.views import (
    ControlRequest,
    ErrorView,
    ImageView,
    JobView,
    PairingRequest,
    PairingView,
    PromptView,
    RoomView,
    TranscriptView,
    UploadAccepted,
)
from shared import __version__

_REF = "#/components/schemas/{model}"
_ROOM = {"name": "room", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}
_TOKEN = [{"token": []}]


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _list(model: type) -> dict[str, Any]:
    return {"type": "array", "items": _ref(model)}


_ERROR = _json(_ref(ErrorView), "the request was refused; `error` says why")

_PATHS: dict[str, dict[str, Any]] = {
    "/api/rooms": {"get": {"summary": "Rooms seen, with image counts and live mics",
                           "responses": {"200": _json(_list(RoomView))}}},
    "/api/rooms/{room}/images": {"get": {
        "summary": "The room's gallery, newest first, with provenance (pictures only, no words, without the token "
                   "or a paired frame's cookie when a token is set)",
        "parameters": [_ROOM, _LIMIT, {"name": "before", "in": "query", "description": "received_at to page back from",
                                       "schema": {"type": "string", "format": "date-time"}}],
        "responses": {"200": _json(_list(ImageView)), "400": _ERROR}}},
    "/api/rooms/{room}/transcripts": {"get": {"summary": "Latest non-empty transcripts, newest first",
                                              "security": _TOKEN, "parameters": [_ROOM, _LIMIT],
                                              "responses": {"200": _json(_list(TranscriptView)), "401": _ERROR}}},
    "/api/rooms/{room}/prompts": {"get": {"summary": "Latest prompts, newest first", "security": _TOKEN,
                                          "parameters": [_ROOM, _LIMIT],
                                          "responses": {"200": _json(_list(PromptView)), "401": _ERROR}}},
    "/api/rooms/{room}/controls": {"post": {
        "summary": "Send a command (mute, window length, style, images per prompt, paint now, regenerate)",
        "security": _TOKEN, "parameters": [_ROOM],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(ControlRequest)}}},
        "responses": {"202": _json({"type": "object", "properties": {"id": {"type": "string"}}}, "sent"),
                      "400": _ERROR, "401": _ERROR, "403": _ERROR, "413": _ERROR, "503": _ERROR}}},
    "/api/uploads": {"post": {
        "summary": "Upload speech audio (multipart field `audio`, optional `room`); it is painted as a job",
        "security": _TOKEN,
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["audio"],
            "properties": {"audio": {"type": "string", "format": "binary"}, "room": {"type": "string"}}}}}},
        "responses": {"202": _json(_ref(UploadAccepted), "accepted; follow /api/uploads/{job_id}"),
                      **{code: _ERROR for code in ("400", "401", "403", "413", "415", "422", "429", "503")}}}},
    "/api/pairings": {
        "get": {"summary": "Paired frames (allowed to show captions when a token is set)", "security": _TOKEN,
                "responses": {"200": _json(_list(PairingView)), "401": _ERROR}},
        "post": {"summary": "A one-time pairing link (valid 15 minutes) to open once on a wall screen",
                 "security": _TOKEN,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(PairingRequest)}}},
                 "responses": {"201": _json(_ref(PairingView), "made; open `link` on the frame"),
                               **{code: _ERROR for code in ("400", "401", "403", "413")}}}},
    "/api/pairings/{pairing_id}": {"delete": {
        "summary": "Revoke a paired frame; its open sockets are closed and come back without captions",
        "security": _TOKEN,
        "parameters": [{"name": "pairing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"204": {"description": "revoked"}, "401": _ERROR, "403": _ERROR, "404": _ERROR}}},
    "/api/uploads/{job_id}": {"get": {
        "summary": "An upload job: status queued/transcribing/choosing/painting/done/error, transcript, images",
        "security": _TOKEN,
        "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref(JobView)), "401": _ERROR, "404": _ERROR}}},
    "/images/{image_id}": {"get": {
        "summary": "An image (immutable; cache forever): at `w` (the next of 640, 960, 1280, 1920, 2560, 3840 up, "
                   "never wider than the original), WebP when Accept names image/webp; ETag, If-None-Match → 304",
        "parameters": [{"name": "image_id", "in": "path", "required": True,
                        "schema": {"type": "string", "format": "uuid"}},
                       {"name": "w", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3840}}],
        "responses": {"200": {"description": "the image",
                              "content": {m: {} for m in ("image/png", "image/jpeg", "image/webp")}},
                      "304": {"description": "the frame has these bytes already (If-None-Match)"},
                      "400": _ERROR, "404": _ERROR}}},
    "/healthz": {"get": {"summary": "200 when connected to the broker, else 503",
                         "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"})}}},
    "/metrics": {"get": {"summary": "Prometheus metrics",
                         "responses": {"200": {"description": "text exposition format"}}}},
}


@functools.cache
def document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "serialization") for m in (RoomView, ImageView, TranscriptView, PromptView, JobView, UploadAccepted,
                                        ErrorView, PairingView)]
        + [(ControlRequest, "validation"), (PairingRequest, "validation")],
        ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Voxframe display", "version": __version__,
                 "description": "Frames, gallery, controls and uploads. Websockets (not described here): "
                                "/ws/frame/{room}, /ws/dashboard, /ws/jobs/{job_id}, /ws/mic/{room}?name= (a browser "
                                "mic: 16 kHz mono s16le binary frames in)."},
        "paths": _PATHS,
        "components": {"schemas": defs["$defs"],
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "only when VOXFRAME_DISPLAY_TOKEN is set"}}},
    }
