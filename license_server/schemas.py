"""Request and response schemas: validation and the OpenAPI document come from these."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Identifiers end up in SQL parameters, logs and metric labels: no control characters.
NO_CONTROL = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")
NAME = validate.And(validate.Length(min=1, max=200), NO_CONTROL)
NO_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
PERSON = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$",
                         error="Use 1-100 letters, digits or . _ @ -, starting with a letter or digit.")


class LenientSchema(Schema):
    """A request body whose unknown fields are ignored, not refused: clients send more than we read."""

    class Meta:
        unknown = "exclude"


def literal(message: str) -> str:
    """A fixed field or validator error: marshmallow runs those through str.format, so braces are escaped."""
    return message.replace("{", "{{").replace("}", "}}")


class ErrorSchema(Schema):
    """Every error: a short code and a sentence saying what to do."""

    error = fields.String(required=True)
    detail = fields.String(required=True)


class BorrowRequestSchema(Schema):
    """POST /api/borrow."""

    tool = fields.String(required=True, validate=NAME)
    user = fields.String(required=True, validate=PERSON)
    team = fields.String(load_default=None, allow_none=True, validate=PERSON)
    lease_seconds = fields.Float(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1, max=7 * 24 * 3600))


class ReturnRequestSchema(Schema):
    """POST /api/return."""

    id = fields.String(required=True, validate=validate.And(validate.Length(min=1, max=64), NO_CONTROL))


class BorrowSchema(Schema):
    """A seat lent to a user."""

    id = fields.String()
    tool = fields.String()
    user = fields.String()
    team = fields.String(allow_none=True)
    overage = fields.Boolean()
    cost = fields.Float()
    borrowed_at = fields.String()
    expires_at = fields.String(allow_none=True)
    returned_at = fields.String()
    return_reason = fields.String()


class BorrowQuerySchema(Schema):
    """Filters of GET /api/borrows."""

    user = fields.String(validate=PERSON)
    tool = fields.String(validate=NAME)
    team = fields.String(validate=PERSON)


class ToolSchema(Schema):
    """A tool's configuration and live state."""

    name = fields.String()
    commit = fields.Integer()
    max_overage = fields.Integer()
    overage_cost = fields.Float()
    commit_cost_monthly = fields.Float()
    in_use = fields.Integer()
    commit_in_use = fields.Integer()
    overage_in_use = fields.Integer()
    available = fields.Integer()
    overage_cost_total = fields.Float()


# The limits of a tool's settings, shared by the API (PUT /api/config/tools/<name>), the
# /config form and the incident page's approvals, so all three refuse the same values alike.
MAX_SEATS = 10_000
MAX_DOLLARS = 1_000_000
SEATS_ERROR = f"Enter a whole number of seats from 0 to {MAX_SEATS:,} (for example 10)."
COST_ERROR = (f"Enter an amount in US dollars from 0 to {MAX_DOLLARS:,} "
              "(for example 250 or 12.50).")


def seats_field(**kwargs) -> fields.Integer:
    """A seat count setting (commit, max_overage): a whole number from 0 to MAX_SEATS."""
    return fields.Integer(validate=validate.Range(min=0, max=MAX_SEATS, error=SEATS_ERROR),
                          error_messages={"invalid": SEATS_ERROR, "required": SEATS_ERROR},
                          **kwargs)


def dollars_field(**kwargs) -> fields.Float:
    """A price setting (overage_cost, commit_cost_monthly): US dollars from 0 to MAX_DOLLARS."""
    return fields.Float(allow_nan=False,
                        validate=validate.Range(min=0, max=MAX_DOLLARS, error=COST_ERROR),
                        error_messages={"invalid": COST_ERROR, "required": COST_ERROR,
                                        "special": COST_ERROR}, **kwargs)


class ToolUpdateSchema(Schema):
    """PUT /api/config/tools/<name>: any of the four settings."""

    commit = seats_field(strict=True)
    max_overage = seats_field(strict=True)
    overage_cost = dollars_field()
    commit_cost_monthly = dollars_field()

    @validates_schema
    def not_empty(self, data, **kwargs):
        """Refuse an update that changes nothing."""
        if not data:
            raise ValidationError("Send at least one of commit, max_overage, overage_cost, "
                                  "commit_cost_monthly.")


class ToolFormSchema(Schema):
    """One tool's row of the /config form, as typed: all four settings, the API's limits."""

    commit = seats_field(required=True)
    max_overage = seats_field(required=True)
    overage_cost = dollars_field(required=True)
    commit_cost_monthly = dollars_field(required=True)


class ForceReturnSchema(Schema):
    """What a force-return freed."""

    user = fields.String()
    returned = fields.Integer()
    ids = fields.List(fields.String())


class StatusSchema(Schema):
    """A plain status answer."""

    status = fields.String()
    detail = fields.String()


# Alert fields are bounded: a notification is stored, shown on /dashboard and logged.
LABEL_NAME = validate.And(validate.Length(min=1, max=128), NO_CONTROL)
LABEL_VALUE = validate.Length(max=1024)
SHORT_TEXT = validate.Length(max=2048)


class AlertSchema(LenientSchema):
    """One alert of an Alertmanager webhook notification."""

    status = fields.String(required=True, validate=validate.OneOf(["firing", "resolved"]))
    labels = fields.Dict(keys=fields.String(validate=LABEL_NAME),
                         values=fields.String(validate=LABEL_VALUE), required=True,
                         validate=validate.Length(max=64))
    annotations = fields.Dict(keys=fields.String(validate=LABEL_NAME),
                              values=fields.String(validate=validate.Length(max=8192)),
                              load_default=dict, validate=validate.Length(max=32))
    startsAt = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    endsAt = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    generatorURL = fields.String(load_default=None, allow_none=True, validate=SHORT_TEXT)
    fingerprint = fields.String(load_default=None, allow_none=True,
                                validate=validate.And(validate.Length(max=128), NO_CONTROL))

    @validates_schema
    def named_sensibly(self, data, **kwargs):
        """The alertname label, when given, is a short identifier (it is stored and listed)."""
        name = data.get("labels", {}).get("alertname")
        if name is not None and (len(name) > 128 or NO_CONTROL_CHARS.search(name)):
            raise ValidationError("labels.alertname must be at most 128 characters without "
                                  "control characters.")


class WebhookSchema(LenientSchema):
    """Alertmanager's webhook payload (version 4)."""

    version = fields.String(load_default="4", validate=validate.Length(max=16))
    status = fields.String(required=True, validate=validate.OneOf(["firing", "resolved"]))
    receiver = fields.String(load_default=None, validate=validate.And(validate.Length(max=128), NO_CONTROL))
    groupKey = fields.String(load_default=None, validate=SHORT_TEXT)
    externalURL = fields.String(load_default=None, validate=SHORT_TEXT)
    alerts = fields.List(fields.Nested(AlertSchema), required=True,
                         validate=validate.Length(max=200))


class ReceivedAlertSchema(AlertSchema):
    """An alert as last received, with the time it arrived."""

    received_at = fields.String()


class AlertQuerySchema(Schema):
    """Filter of GET /api/alerts."""

    status = fields.String(validate=validate.OneOf(["firing", "resolved"]))


class ReceivedSchema(Schema):
    """How many alerts a webhook call carried."""

    received = fields.Integer()
