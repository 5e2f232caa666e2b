"""flask-smorest's Api with the project's error shape; it also serves /openapi.json."""
from __future__ import annotations

import functools

import flask_smorest
from flask import current_app, g, request
from flask_smorest import Api
from webargs.flaskparser import FlaskParser

from license_server import auth, error_pages, errors, events
from license_server.schemas import ErrorSchema


class RequestParser(FlaskParser):
    """webargs' Flask parser; invalid requests are 400, as the API answers them."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint documenting validation errors as 400."""

    ARGUMENTS_PARSER = RequestParser()

    def admin(self, view):
        """Make a view admin-only, with the bearer scheme and the 401 and 403 answers documented.

        Put it above @arguments: the token is checked before the body is validated, so a caller
        without it learns nothing about the body. The view finds the actor in g.actor.
        """

        @functools.wraps(view)
        def checked(*args, **kwargs):
            g.actor = auth.check_admin()
            return view(*args, **kwargs)

        checked = self.doc(security=[{"bearerAuth": []}])(checked)
        checked = self.alt_response(401, schema=ErrorSchema)(checked)
        return self.alt_response(403, schema=ErrorSchema)(checked)


    def webhook_auth(self, view):
        """Make a view need the webhook bearer token (documented like admin, scheme webhookBearer)."""

        @functools.wraps(view)
        def checked(*args, **kwargs):
            auth.check_webhook()
            return view(*args, **kwargs)

        checked = self.doc(security=[{"webhookBearer": []}])(checked)
        checked = self.alt_response(401, schema=ErrorSchema)(checked)
        return self.alt_response(403, schema=ErrorSchema)(checked)


class LicenseApi(Api):
    """Answers {"error", "detail"}; validation errors become 400 invalid_request."""

    # Document the error shape the handlers below actually send.
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        """Render an HTTP error in the JSON error shape (a page for the HTML pages), counting invalid borrows."""
        status = error.code or 500
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages:
            status = 400
        if status in (400, 413) and request.endpoint == "api.borrow":
            events.borrow_invalid()
        if messages:
            detail = f"Invalid request: {errors.flatten(messages)}"
        elif status == 413 and error.description == type(error).description:
            # werkzeug's own 413 (a body longer than announced, or chunked): say what the limit is.
            detail = (f"The request body is larger than the server accepts "
                      f"({request.max_content_length} bytes); send less.")
        else:
            detail = error.description or error.name
        response = current_app.make_response(
            error_pages.answer(status, errors.HTTP_CODES.get(status, "error"), detail))
        # Keep what the error says in headers (Allow on 405, Retry-After on 429).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response


def init_app(app) -> LicenseApi:
    """Create the Api with the admin bearer scheme documented."""
    app.config.update(API_TITLE="License server", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
                      OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json")
    api = LicenseApi(app)
    # Where optional blueprint sets (license_server.demo) find the Api to register with.
    app.extensions["rest_api"] = api
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("webhookBearer", {
        "type": "http", "scheme": "bearer",
        "description": "ALERT_WEBHOOK_TOKEN, sent by Alertmanager (http_config.authorization)"})
    return api
