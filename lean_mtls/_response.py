"""Turn HTTP responses into parsed JSON or typed errors: the one mapping function."""

from __future__ import annotations

import codecs
import email.utils
import json
import re
import time
from typing import Any

import requests

from . import errors
from ._secrets import scrub, values_in_request

#: Headers that carry a request/correlation id, most specific first.
REQUEST_ID_HEADERS = (
    "lean-request-id",
    "x-request-id",
    "lean-correlation-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "x-amz-cf-id",
)

_STATUS_CLASSES: dict[int, type[errors.LeanAPIError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    429: errors.RateLimitError,
}

#: Lean's own status codes that deserve a dedicated class whatever the HTTP status.
_LEAN_STATUS_CLASSES: dict[str, type[errors.LeanAPIError]] = {
    "CONSENT_EXPIRED": errors.ConsentExpiredError,
    "RECONNECT_REQUIRED": errors.ReconnectRequiredError,
}

#: Data-call ``status`` values that mean "no data": raised, not returned.
DATA_FAILURE_CLASSES: dict[str, type[errors.DataStatusError]] = {
    "FAILED": errors.DataFailedError,
    "RECONNECT_REQUIRED": errors.ReconnectRequiredError,
    "CONSENT_EXPIRED": errors.ConsentExpiredError,
}

_DATA_ADVICE = {
    "FAILED": "Lean or the bank could not produce the data; retry later or quote results_id to Lean support.",
    "RECONNECT_REQUIRED": "Send the customer through LinkSDK reconnect, then call again.",
    "CONSENT_EXPIRED": "The customer's consent expired: send the customer through LinkSDK again to renew it.",
}

_SNIPPET_LENGTH = 200
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


def request_id(response: requests.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def _redact_request_secrets(text: str, response: requests.Response) -> str:
    """Some gateways and debugging proxies echo the request (headers, form) in
    their error pages: blank out every spelling of the credentials we sent, and
    of every live secret, before quoting a body."""
    return scrub(text, also=_request_values(response))


def body_snippet(response: requests.Response) -> str:
    """A short, single-line, human-readable excerpt of a non-JSON body."""
    import html  # only on the error path: keeps `import lean_mtls` light
    content = response.content or b""
    encoding = response.encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:  # a charset Python does not know: show the bytes as UTF-8
        encoding = "utf-8"
    title = _TITLE.search(content)
    if title:
        text = title.group(1).decode(encoding, "replace")
    else:
        text = content[:4096].decode(encoding, "replace")
        text = _TAG.sub(" ", _STYLE.sub(" ", text))
    text = _redact_request_secrets(" ".join(html.unescape(text).split()), response)
    return text if len(text) <= _SNIPPET_LENGTH else text[: _SNIPPET_LENGTH - 3] + "..."


def _json_snippet(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SNIPPET_LENGTH else text[: _SNIPPET_LENGTH - 3] + "..."


def _describe_request(response: requests.Response) -> str:
    request = response.request
    if request is None or request.url is None:
        return "the request"
    from urllib.parse import urlsplit

    return f"{request.method} {urlsplit(request.url).path or '/'}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _scrub_body(body: Any, also: list[str]) -> Any:
    """``body`` with every string in it scrubbed: an error's ``body`` outlives the
    response (logs, pickles, crash reports), and a gateway may have echoed our credentials."""
    if isinstance(body, str):
        return scrub(body, also=also)
    if isinstance(body, dict):
        return {key: _scrub_body(value, also) for key, value in body.items()}
    if isinstance(body, list):
        return [_scrub_body(value, also) for value in body]
    return body


def _request_values(response: requests.Response) -> list[str]:
    request = response.request
    return values_in_request(request.headers, request.body) if request is not None else []


def _scrub_headers(response: requests.Response) -> requests.structures.CaseInsensitiveDict[str]:
    """The answer's headers for an error to keep: a copy, scrubbed of the credentials the request
    carried and of every live secret (a gateway may echo the token in a header)."""
    also = _request_values(response)
    return requests.structures.CaseInsensitiveDict(
        {name: scrub(value, also=also) if isinstance(value, str) else value for name, value in response.headers.items()}
    )


def _error_fields(response: requests.Response, status: str | None, body: Any) -> dict[str, Any]:
    """The keyword arguments every LeanAPIError built from ``response`` takes."""
    return {
        "status_code": response.status_code,
        "status": status,
        "body": _scrub_body(body, _request_values(response)),
        "headers": _scrub_headers(response),
        "request_id": request_id(response),
        "response": response,
        "request": response.request,
    }


def error_from_response(response: requests.Response) -> errors.LeanAPIError:
    """Build the typed error for a non-2xx response."""
    status_code = response.status_code
    body: Any
    lean_status: str | None = None
    lean_message: str | None = None
    try:
        body = parse_json_body(response) if response.content else None
    except errors.InvalidResponseError:
        body = response.text
    if isinstance(body, dict):
        raw_status = body.get("status")
        lean_status = raw_status if isinstance(raw_status, str) else None
        raw_message = body.get("message") or body.get("error_description") or body.get("error")
        lean_message = _redact_request_secrets(str(raw_message), response) if raw_message is not None else None

    what = _describe_request(response)
    reason = response.reason or ""
    if lean_status or lean_message:
        message = f"Lean answered HTTP {status_code} to {what}: {lean_status or reason}"
        if lean_message:
            message += f": {lean_message}"
    elif isinstance(body, str) and body.strip():
        message = (
            f"HTTP {status_code} {reason} to {what}, with a non-JSON body "
            f"(probably from a proxy or gateway, not Lean's API): {body_snippet(response)!r}"
        )
        if "ssl certificate" in body.lower() or "no required ssl certificate" in body.lower():
            message += (
                ". The server did not accept the client certificate: check cert=/key= for this environment."
            )
    elif body is not None and not (isinstance(body, str) and not body.strip()):
        # JSON, but not Lean's error shape (a gateway's {"errors": [...]}, a bare list, ...).
        message = (
            f"HTTP {status_code} {reason} to {what}, with a JSON body that is not a Lean error: "
            f"{_redact_request_secrets(_json_snippet(body), response)!r}"
        )
    else:
        message = f"HTTP {status_code} {reason} to {what}, with an empty body."

    cls = _LEAN_STATUS_CLASSES.get(lean_status or "") or _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = errors.ServerError if status_code >= 500 else errors.LeanAPIError
    kwargs = _error_fields(response, lean_status, body)
    if cls is errors.RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    if issubclass(cls, errors.DataStatusError) and isinstance(body, dict):
        kwargs.update(_data_details(body))
        message += f". {_DATA_ADVICE.get(lean_status or '', '')}".rstrip()
    error = cls(message, **kwargs)
    error.record_attempts(int(getattr(response, "lean_attempts", 1)))
    return error


def _data_details(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("status_detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "results_id": body.get("results_id"),
        "granular_status_code": detail.get("granular_status_code"),
        "status_additional_info": detail.get("status_additional_info"),
    }


def raise_for_data_status(body: Any, response: requests.Response) -> None:
    """Raise the dedicated error when a 2xx data result says FAILED,
    RECONNECT_REQUIRED or CONSENT_EXPIRED.  ``PENDING`` and ``OK`` pass."""
    if not isinstance(body, dict):
        return
    status = body.get("status")
    if not isinstance(status, str) or status not in DATA_FAILURE_CLASSES:
        return
    cls = DATA_FAILURE_CLASSES[status]
    details = _data_details(body)
    granular = details["granular_status_code"]
    text = f"Lean answered {status}" + (f" ({granular})" if granular else "")
    text += f" to {_describe_request(response)}"
    if body.get("message"):
        text += f": {_redact_request_secrets(str(body['message']), response)}"
    text += f". {_DATA_ADVICE[status]}"
    if details["results_id"]:
        text += f" results_id={details['results_id']}"
    raise cls(text, **_error_fields(response, status, body), **details)


def decode_json(response: requests.Response) -> Any:
    """Return the JSON body of a 2xx response, ``None`` for an empty body;
    raise the typed error for anything else.

    The body is decoded with the charset its ``Content-Type`` declares (as
    requests' ``Response.json()`` does), else detected as RFC 8259 allows
    (UTF-8, -16 or -32).  A ``Content-Encoding`` this installation cannot
    decode, a nesting deeper than the parser can follow, or a body that is
    not JSON raise :class:`~lean_mtls.errors.InvalidResponseError` saying which.
    """
    if not 200 <= response.status_code < 300:
        raise error_from_response(response)
    content = response.content
    if not content or not content.strip():
        return None
    return parse_json_body(response)


def parse_json_body(response: requests.Response) -> Any:
    """The body of ``response`` as JSON, or :class:`~lean_mtls.errors.InvalidResponseError`."""
    undecoded = unsupported_content_codings(response.headers.get("Content-Encoding", ""))
    if undecoded:
        raise undecodable(response, undecoded)
    content = response.content or b""
    charset = declared_charset(response.headers.get("Content-Type", ""))
    try:
        text: str | bytes = content
        if charset is not None:
            codec = codecs.lookup(charset).name
            text = content.decode("utf-8-sig" if codec == "utf-8" else codec)
        return json.loads(text)
    except LookupError:
        raise _not_json(response, f"its Content-Type declares charset {charset!r}, which Python does not know") \
            from None
    except UnicodeDecodeError as exc:
        raise _not_json(response, f"it is not valid {exc.encoding} text (byte {exc.start})") from None
    except (RecursionError, ValueError) as exc:
        raise not_json(response, exc) from None


def not_json(response: requests.Response, exc: BaseException) -> errors.InvalidResponseError:
    """The error for a body ``json.loads`` refused with ``exc``: also requests'
    ``JSONDecodeError``, as ``Response.json()`` raises in requests."""
    if isinstance(exc, RecursionError):
        problem = "its JSON is nested more deeply than the parser can follow"
    elif isinstance(exc, json.JSONDecodeError):
        problem = "it was not valid JSON"
    else:  # e.g. an integer longer than Python's int_max_str_digits
        problem = f"its JSON could not be read ({exc})"
    return _not_json(response, problem, cls=errors.ResponseJSONDecodeError)


def declared_charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").strip() or None
    return None


def unsupported_content_codings(header: str) -> list[str]:
    """The codings in a ``Content-Encoding`` value that urllib3 here cannot undo
    (``br`` without brotli, ``zstd`` without zstandard, unknown ones)."""
    if not header:
        return []
    import urllib3.response

    known = {*urllib3.response.HTTPResponse.CONTENT_DECODERS, "identity"}
    return [c for c in (part.strip().lower() for part in header.split(",")) if c and c not in known]


#: Content codings urllib3 decodes once the named package is installed.
_CODING_PACKAGES = {"br": "brotli", "zstd": "zstandard"}


def undecodable(response: requests.Response, codings: list[str]) -> errors.LeanError:
    """The error for a body in a coding this installation cannot decode, as the one table names it
    (:class:`~lean_mtls.errors.ResponseDecodingError`, never retried)."""
    from ._exceptions import UnsupportedContentEncoding, map_transport_error

    description = getattr(getattr(response, "connection", None), "description", None)
    failure = UnsupportedContentEncoding(f"(HTTP {response.status_code}) {_coding_problem(codings)}")
    return map_transport_error(failure, response.url or "", description, answered=True,
                               request=response.request, response=response)


def _coding_problem(codings: list[str]) -> str:
    package = _CODING_PACKAGES.get(codings[0])
    fix = (f"install {package} (pip install {package}) so it can be decoded" if package else
           "no decoder for it exists here; the server (or a proxy) used a coding that was not asked for")
    return f"it came with Content-Encoding {', '.join(codings)!r}, which this installation cannot decode: {fix}"


def _not_json(response: requests.Response, problem: str, *, quote: bool = True,
              cls: type[errors.InvalidResponseError] = errors.InvalidResponseError) -> errors.InvalidResponseError:
    snippet = f": {body_snippet(response)!r}" if quote else ""  # compressed bytes say nothing
    return cls(
        f"HTTP {response.status_code} to {_describe_request(response)} could not be read as JSON: {problem} "
        f"(content-type {response.headers.get('Content-Type', 'unknown')!r}){snippet}",
        status_code=response.status_code,
        body=_scrub_body(response.text, _request_values(response)) if quote else "",
        response=response,
        request=response.request,
    )
