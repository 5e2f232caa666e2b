"""gunicorn's own error answers (request line or headers too long, malformed HTTP) as JSON.

gunicorn rejects such requests before the app sees them and writes an HTML page through
`gunicorn.util.write_error`; `install()` swaps that writer for one sending the API's
`{"error", "detail"}` shape with the same status, so every client error is JSON.
"""
from __future__ import annotations

import json

# gunicorn's statuses and the API's error codes and advice for them.
ADVICE = {
    400: ("invalid_request", "gunicorn could not parse this HTTP request"),
    403: ("forbidden", "gunicorn refused this request"),
    414: ("uri_too_long", "The request line is longer than the server accepts (4094 bytes): "
                          "send long values in a JSON body instead of the URL"),
    431: ("headers_too_large", "The request headers are too large (at most 100 headers of "
                               "8190 bytes each): send fewer or shorter headers"),
    417: ("expectation_failed", "Only 'Expect: 100-continue' is understood"),
    501: ("not_implemented", "This transfer coding is not supported: send a plain or chunked body"),
}


def write_json_error(sock, status_int, reason, mesg):
    """Write one JSON error answer and let gunicorn close the connection."""
    from gunicorn import util
    code, advice = ADVICE.get(status_int, ("server_error" if status_int >= 500 else "invalid_request",
                                           reason))
    detail = f"{advice} ({mesg[:200]})." if mesg else f"{advice}."
    body = json.dumps({"error": code, "detail": detail}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin1") + body)


def install() -> None:
    """Make gunicorn answer its own errors in JSON (called in the master before forking)."""
    from gunicorn import util
    util.write_error = write_json_error
