"""How the emulator reads request bodies: as strictly as the real Videos API (notes/sora-api.md
§1, §2, §6), so a client that speaks the wire format wrongly fails against it as it would
against a real server.

    create  POST /videos              multipart/form-data (string fields + the file
                                      ``input_reference``) or application/json (``input_reference``
                                      as ``{"image_url": ...}`` or ``{"file_id": ...}``)
    remix   POST /videos/{id}/remix   application/json or multipart/form-data, ``prompt`` only

Refused with HTTP 400 and the API's error shape ``{"error": {message, type, param, code}}``:
any other body type (``application/x-www-form-urlencoded`` above all: httpx sends that for a
field-only body unless told otherwise), an unknown field (``Unknown parameter: 'width'.``), a
missing ``prompt`` or ``model``, a field of the wrong type (``seconds`` as a JSON integer, the
image as a plain string), and, for ``seconds`` and ``size``, anything that is not a value of the
API (``Invalid value: '15'. Supported values are: ...``) when the emulator is strict about
values. The messages quoted in the notes are used verbatim; the one for an unsupported body
type is ours (the real wording was never recorded).
"""

from __future__ import annotations

import base64
import binascii
import json
from email.parser import BytesParser
from email.policy import HTTP

CREATE_FIELDS = ("prompt", "model", "seconds", "size", "input_reference")
REMIX_FIELDS = ("prompt",)
REAL_SECONDS = ("4", "8", "12")
REAL_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
BODY_TYPES = ("multipart/form-data", "application/json")


def error(message: str, type_: str = "invalid_request_error", param: str | None = None,
          code: str | None = None) -> dict:
    """The API's error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class WireError(Exception):
    """A request the real API would refuse: ``status`` and the error ``body``."""

    def __init__(self, body: dict, status: int = 400):
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


def parse_body(content_type: str, body: bytes, known: tuple[str, ...]) -> tuple[dict[str, str], dict[str, bytes]]:
    """(string fields, file fields) of a multipart or JSON body; ``WireError`` for anything else,
    for an unknown field, or for a field of the wrong type."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        fields, files = _multipart(content_type, body)
    elif media == "application/json":
        fields, files = _json(body)
    else:
        shown = media or "none"
        raise WireError(error(f"Unsupported content type: '{shown}'. This endpoint accepts 'multipart/form-data' "
                              "or 'application/json' request bodies.", code="unsupported_content_type"))
    for name in (*fields, *files):
        if name not in known:
            raise WireError(error(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter"))
    for name in files:
        if name != "input_reference":
            raise WireError(error(f"Invalid type for '{name}': expected a string, but got a file instead.",
                                  param=name, code="invalid_type"))
    if "input_reference" in fields:
        raise WireError(error("Invalid type for 'input_reference': expected a file, but got a string instead.",
                              param="input_reference", code="invalid_type"))
    return fields, files


def require(fields: dict[str, str], *names: str) -> None:
    for name in names:
        if not fields.get(name):
            raise WireError(error(f"Missing required parameter: '{name}'.", param=name,
                                  code="missing_required_parameter"))


def check_values(seconds: str, size: str, strict: bool) -> None:
    """``seconds`` and ``size`` as the API takes them. ``strict``: only the API's values (the
    emulator otherwise also renders small test clips, e.g. 1 s at 160x96)."""
    if strict and seconds not in REAL_SECONDS:
        raise WireError(error(f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'.",
                              param="seconds", code="invalid_value"))
    if strict and size not in REAL_SIZES:
        raise WireError(error(f"Invalid value: '{size}'. Supported values are: '720x1280', '1280x720', "
                              "'1024x1792', and '1792x1024'.", param="size", code="invalid_value"))
    try:
        s = float(seconds)
    except ValueError:
        s = -1.0
    if not 0 < s <= 20:
        raise WireError(error(f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'.",
                              param="seconds", code="invalid_value"))
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        w = h = -1
    if not (16 <= w <= 1920 and 16 <= h <= 1920) or w % 2 or h % 2:
        raise WireError(error(f"Invalid value: '{size}'. Supported values are: '720x1280', '1280x720', "
                              "'1024x1792', and '1792x1024'.", param="size", code="invalid_value"))


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    if "boundary=" not in content_type:
        raise WireError(error("Could not parse multipart form: no boundary in the Content-Type header."))
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise WireError(error("Could not parse multipart form."))
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise WireError(error("Could not parse multipart form: a part has no name."))
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = payload
        else:
            try:
                fields[name] = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise WireError(error(f"Invalid value for '{name}': not UTF-8 text.", param=name)) from None
    return fields, files


_JSON_TYPES = {"prompt": "a string", "model": "a string", "seconds": "one of '4', '8', or '12'", "size": "a string"}


def _json(body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    try:
        d = json.loads(body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WireError(error("We could not parse the JSON body of your request.")) from None
    if not isinstance(d, dict):
        raise WireError(error("The JSON body of your request must be an object."))
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for name, v in d.items():
        if name == "input_reference":
            files[name] = _reference(v)
        elif isinstance(v, str):
            fields[name] = v
        elif name in _JSON_TYPES:
            got = {bool: "a boolean", int: "an integer", float: "a number", list: "an array", dict: "an object"}.get(
                type(v), "null")
            raise WireError(error(f"Invalid type for '{name}': expected {_JSON_TYPES[name]}, but got {got} instead.",
                                  param=name, code="invalid_type"))
        else:
            fields[name] = json.dumps(v)  # reported as unknown by the caller
    return fields, files


def _reference(v) -> bytes:
    """The JSON ``input_reference``: exactly one of ``image_url`` (a data URL here: the emulator
    fetches nothing) or ``file_id`` (the emulator keeps no files)."""
    if not isinstance(v, dict) or len(v) != 1 or not set(v) <= {"image_url", "file_id"}:
        raise WireError(error("Invalid 'input_reference': expected an object with exactly one of 'image_url' or "
                              "'file_id'.", param="input_reference", code="invalid_type"))
    if "file_id" in v:
        raise WireError(error(f"No such File object: {v['file_id']}", param="input_reference"), 404)
    url = v["image_url"]
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise WireError(error("Invalid 'input_reference.image_url': this server takes base64 data URLs only.",
                              param="input_reference", code="invalid_value"))
    try:
        return base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise WireError(error("Invalid 'input_reference.image_url': not valid base64.", param="input_reference",
                              code="invalid_value")) from None
