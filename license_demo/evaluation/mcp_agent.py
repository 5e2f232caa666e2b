"""The scripted investigator that reaches its answer through the MCP tools alone.

It proves the tools suffice: it reads the firing alerts (`alerts`), asks the built-in
investigator through the `investigate` tool, keeps only an alert the `alerts` tool shows firing,
and takes the team of a tool-level cause from `borrowers`. It is also the example of an external
investigator: `python -m license_demo.evaluation.mcp_agent` reads EVAL_QUESTION, EVAL_MCP_URL and
EVAL_MCP_TOKEN and prints its answer as JSON (the schema of `answer_schema`).
"""
from __future__ import annotations

import json
import os
import sys

from license_demo.agents import mcp_client
from license_demo.agents.mcp_client import call, http_client
from license_demo.evaluation.answer_schema import from_result, normalise

TOOL_LEVEL_CAUSES = ("build_job", "commit_too_low")


async def investigate(client, question: str) -> dict:
    """Ask through `client` (an unopened MCP client) and return the answer."""
    async with client:
        alerts = await call(client, "alerts")
        found = await call(client, "investigate", text=question)
        if found.is_error:
            return normalise({"summary": found.summary})
        answer = from_result(found.data)
        firing = {a["alertname"] for a in (alerts.data or {}).get("firing", [])}
        if answer["detection"]["alert"] not in firing:
            answer["detection"]["alert"] = None
        tool = answer["localisation"]["tool"]
        if answer["root_cause"] in TOOL_LEVEL_CAUSES and tool:
            people = await call(client, "borrowers", tool=tool)
            teams = (people.data or {}).get("by_team") or []
            answer["localisation"]["team"] = teams[0]["team"] if teams else None
        return answer


def main() -> int:
    """The external-command form: question and endpoint from the environment, the answer on stdout."""
    question, url = os.environ.get("EVAL_QUESTION"), os.environ.get("EVAL_MCP_URL")
    if not question or not url:
        print("error: set EVAL_QUESTION and EVAL_MCP_URL (license-demo eval does)", file=sys.stderr)
        return 2
    answer = mcp_client.run(investigate(http_client(url, os.environ.get("EVAL_MCP_TOKEN")), question))
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
