"""One request to a Grafana Cloud or Fly API, and the error that names the endpoint, the status and what to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
import yaml

TIMEOUT = 20


class CloudError(RuntimeError):
    """A call failed; the message names the endpoint, the status and what to do next."""


def endpoint(url: str) -> str:
    """`url` as printed: no user info, no query string (neither may carry a secret into a log)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))


@dataclass
class Api:
    """One service: its base URL, its credentials and, for errors, the settings that configure it."""

    name: str
    base: str
    url_setting: str
    token_setting: str
    auth: tuple[str, str] | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    headers: dict = field(default_factory=dict)

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200,), scope: str = "",
             **kwargs) -> requests.Response:
        """Send one request; return the answer when its status is in `ok`, else raise CloudError."""
        url = self.base + path
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        try:
            answer = requests.request(method, url, auth=self.auth, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise CloudError(f"{method} {endpoint(url)}: {self.name} unreachable ({_reason(exc)}); "
                             f"check {self.url_setting}") from exc
        if answer.status_code in ok:
            return answer
        raise CloudError(f"{method} {endpoint(url)} answered HTTP {answer.status_code}: "
                         f"{_body(answer)}; {self.advice(answer.status_code, scope)}")

    def parse(self, answer: requests.Response, kind: str = "json"):
        """The answer's body as JSON or YAML; CloudError when it is neither (the URL is not the service's)."""
        try:
            return answer.json() if kind == "json" else yaml.safe_load(answer.text)
        except (ValueError, yaml.YAMLError) as exc:
            raise CloudError(f"{answer.request.method} {endpoint(answer.url)} answered HTTP {answer.status_code} "
                             f"with no {kind.upper()} ({str(exc)[:80]}): check {self.url_setting}, which must be "
                             f"{self.name}'s address") from exc

    def advice(self, status: int, scope: str) -> str:
        """What to do about an unexpected status."""
        if status in (401, 403):
            return (f"{self.name} refused the credentials: check {self.token_setting}"
                    + (f" (it needs {scope})" if scope else ""))
        if status == 404:
            return (f"{self.name} has no such endpoint: check that {self.url_setting} is the URL the stack's "
                    "details page shows")
        if status == 429 or status >= 500:
            return f"{self.name} is busy or failing: wait a minute and run again"
        return f"{self.name} refused the request: its answer above says why"


def _body(answer: requests.Response) -> str:
    """The first line of an error answer, short."""
    text = " ".join(answer.text.split())
    return (text[:200] + "…") if len(text) > 200 else (text or "(empty)")


def _reason(exc: Exception) -> str:
    """A connection error in a few words."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
