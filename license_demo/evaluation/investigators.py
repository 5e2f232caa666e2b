"""The investigators the evaluation scores, behind one interface: `answer(question, endpoint) -> answer`.

`built-in` (the investigator itself), `mcp` (the scripted client using only the MCP tools),
`cmd:<command>` (any program: it gets the question and the MCP endpoint, prints the answer as
JSON), and two deliberately weakened ones that must lose points: `weak:ignores-tool` (drops the
tool named in the question) and `weak:always-raise-commit`.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass

from license_demo.agents import evidence_view
from license_demo.agents import mcp_client
from license_demo.agents.mcp_client import http_client
from license_demo.evaluation import mcp_agent
from license_demo.evaluation.answer_schema import AnswerError, from_result, normalise

EXTERNAL_TIMEOUT = 300


@dataclass
class Endpoint:
    """What an investigator may reach for one case: the stack, and the MCP server over it."""

    server_url: str
    prometheus_url: str
    alertmanager_url: str
    admin_token: str
    mcp_url: str | None = None
    mcp_token: str | None = None

    def stack(self) -> evidence_view.StackConfig:
        """The stack as the built-in investigator reads it."""
        return evidence_view.StackConfig(self.server_url, self.admin_token, self.prometheus_url, self.alertmanager_url)


class BuiltIn:
    """The built-in investigator (`investigation.run`), filing no incident."""

    name, needs_mcp = "built-in", False

    def answer(self, question: str, endpoint: Endpoint) -> dict:
        """Investigate `question` and read the result as an answer."""
        return from_result(evidence_view.investigate(endpoint.stack(), question, 600).result)


class ThroughMCP:
    """The scripted investigator of `mcp_agent`, over the MCP server's streamable HTTP endpoint."""

    name, needs_mcp = "mcp", True

    def answer(self, question: str, endpoint: Endpoint) -> dict:
        """Ask through the MCP tools."""
        return mcp_client.run(mcp_agent.investigate(http_client(endpoint.mcp_url, endpoint.mcp_token), question))


class External:
    """Any command: EVAL_QUESTION, EVAL_MCP_URL, EVAL_MCP_TOKEN in its environment (and the same as JSON on
    stdin); its stdout is the answer as JSON."""

    needs_mcp = True

    def __init__(self, command: str):
        """Run `command` (a shell-style line) per case."""
        self.command, self.name = command, f"cmd:{command}"

    def answer(self, question: str, endpoint: Endpoint) -> dict:
        """Run the command once; a bad answer is an empty one, with its error as the summary."""
        request = {"question": question, "mcp_url": endpoint.mcp_url, "mcp_token": endpoint.mcp_token}
        env = {**os.environ, "EVAL_QUESTION": question, "EVAL_MCP_URL": endpoint.mcp_url or "",
               "EVAL_MCP_TOKEN": endpoint.mcp_token or ""}
        try:
            done = subprocess.run(shlex.split(self.command), input=json.dumps(request), capture_output=True,
                                  text=True, env=env, timeout=EXTERNAL_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return normalise({"summary": f"the command failed: {exc}"})
        try:
            return normalise(json.loads(done.stdout))
        except (ValueError, AnswerError) as exc:
            return normalise({"summary": f"no answer in the schema (exit {done.returncode}): {exc}; "
                                         f"stderr: {done.stderr[-300:]}"})


class IgnoresTool(BuiltIn):
    """Weakened: the built-in investigator, asked with the tool's name taken out of the question."""

    name = "weak:ignores-tool"

    def answer(self, question: str, endpoint: Endpoint) -> dict:
        """Drop every word of a tool's name from the question, then investigate."""
        tools, _, _ = evidence_view.known_names(endpoint.stack())
        words = {w for t in tools for w in re.findall(r"[a-z0-9]+", t.lower()) if len(w) > 3}
        blind = " ".join(w for w in question.split() if re.sub(r"[^a-z0-9]", "", w.lower()) not in words)
        return super().answer(blind, endpoint)


class AlwaysRaiseCommit(BuiltIn):
    """Weakened: the built-in investigator's answer, but the action is always raise-commit."""

    name = "weak:always-raise-commit"

    def answer(self, question: str, endpoint: Endpoint) -> dict:
        """Keep the diagnosis, replace the mitigation."""
        answer = super().answer(question, endpoint)
        raise_commit = next((a for a in answer["actions"] if a["action"] == "raise-commit"),
                            {"action": "raise-commit", "parameters": {}})
        answer["mitigation"], answer["actions"] = raise_commit, [raise_commit]
        return answer


NAMED = {cls.name: cls for cls in (BuiltIn, ThroughMCP, IgnoresTool, AlwaysRaiseCommit)}


def parse(spec: str):
    """An investigator from its name (built-in, mcp, weak:...) or cmd:<command>; ValueError lists them."""
    if spec.startswith("cmd:") and spec[4:].strip():
        return External(spec[4:].strip())
    if spec in NAMED:
        return NAMED[spec]()
    raise ValueError(f"unknown investigator {spec!r}: use one of {', '.join(NAMED)} or cmd:<command>")
