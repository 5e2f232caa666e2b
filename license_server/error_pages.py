"""Errors of the HTML pages answered as a page, so a browser's form post never shows raw JSON.

A request gets the page when it is for one of the pages (`/`, `/dashboard`, `/config...`,
`/incidents...`) and is a form post or prefers text/html; everything else, every `/api/...`
route included, keeps the `{"error", "detail"}` shape. The status code and the sentence are
the same either way; the page adds a link back to the form to try again.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import render_template, request

from license_server import errors

PAGE_SECTIONS = {"", "dashboard", "config", "incidents"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_page() -> bool:
    """Whether this request's error should be an HTML page rather than JSON."""
    if request.path.split("/")[1] not in PAGE_SECTIONS:
        return False
    if request.method == "POST" and request.mimetype in FORM_TYPES:
        return True
    # requests and curl send */*: JSON wins ties, a browser's text/html outranks it.
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def way_back(status: int) -> tuple[str, str]:
    """The link (address, text) to the page whose form the visitor can try again."""
    parts = request.path.strip("/").split("/")
    if parts[0] == "incidents":
        if len(parts) >= 3 and status != 404:  # /incidents/<id>/approve: its incident's page
            return "/incidents/" + quote(parts[1], safe=""), "Back to the incident"
        return "/incidents", "Back to the incidents"
    if parts[0] == "config":
        return "/config", "Back to the config page"
    return "/dashboard", "Back to the dashboard"


def answer(status: int, code: str, detail: str):
    """The error as a page when the request wants one, else the JSON error shape."""
    if not wants_page():
        return errors.error_response(status, code, detail)
    href, label = way_back(status)
    try:
        return render_template("pages/error.html", status=status, code=code, detail=detail,
                               back_href=href, back_label=label,
                               unchanged=request.method == "POST" and status < 500), status
    except Exception:  # noqa: BLE001 - an error page that fails must not hide the error itself
        return errors.error_response(status, code, detail)


def register(app) -> None:
    """Answer the domain errors (LicenseError) like the HTTP ones: JSON, or a page for the pages."""

    @app.errorhandler(errors.LicenseError)
    def handle_license_error(exc: errors.LicenseError):
        return answer(exc.status, exc.code, exc.detail)
