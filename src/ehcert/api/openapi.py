"""The OpenAPI document as the API really behaves: signed bodies, binary answers, problems.

FastAPI describes JSON routes by itself; what it cannot know is added here, for every
route at once, so a router added later is described the same way without doing anything:

- every operation may answer a problem document (RFC 9457, ``application/problem+json``,
  schema ``Problem``) for any 4xx or 5xx status; FastAPI's own 422 validation answer is
  replaced, since validation errors here are 400 ``malformed`` (``api.problems``);
- a signed request's body is the flattened JSON serialisation of a JWS (RFC 7515 section
  7.2.2, as ACME sends it, RFC 8555 section 6.2), ``application/jose+json``; a route
  says it takes one with ``openapi_extra=SIGNED_BODY`` and names its payload fields in
  its description;
- routes answering bytes (DER, PEM, XML) declare their media type with
  :func:`binary_answer`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ehcert.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
from ehcert.core.errors import ErrorKind

JOSE_MEDIA_TYPE = "application/jose+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; switch on 'type', show 'detail'.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "enum": [PROBLEM_TYPE_PREFIX + kind.value for kind in ErrorKind],
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "field": {"type": ["string", "null"], "description": "The field that is wrong."},
    },
}

_BASE64URL_PATTERN = "^[A-Za-z0-9_-]*$"

SIGNED_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A JWS in flattened JSON serialisation (RFC 7515 section 7.2.2): the protected "
            "header holds alg (RS256 or PS256), nonce (from GET /v1/nonce), url (this "
            "route's URL) and x5c (the signer's certificate chain); the payload is the "
            "base64url of the JSON object this route's description names."
        ),
        "content": {
            JOSE_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["protected", "payload", "signature"],
                    "additionalProperties": False,
                    "properties": {
                        "protected": {"type": "string", "pattern": _BASE64URL_PATTERN},
                        "payload": {"type": "string", "pattern": _BASE64URL_PATTERN},
                        "signature": {"type": "string", "pattern": _BASE64URL_PATTERN},
                    },
                }
            }
        },
    }
}


def binary_answer(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose success is bytes of ``media_type``."""
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def binary_body(media_type: str, description: str) -> dict[str, Any]:
    """``openapi_extra=`` of a route whose request body is bytes of ``media_type``."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


_PROBLEM_ANSWER = {
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def describe(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` with the additions of the module docstring."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["4XX"] = {"description": "Refused: a problem document.", **_PROBLEM_ANSWER}
            responses["5XX"] = {"description": "Failed: a problem document.", **_PROBLEM_ANSWER}
    return document


def install(app: FastAPI) -> None:
    """Serve :func:`describe`'s document at ``/openapi.json`` (built once, then kept)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
