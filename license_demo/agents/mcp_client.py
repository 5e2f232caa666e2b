"""Reaching `license-demo mcp` with the SDK's own client: over stdio (a subprocess) or streamable HTTP."""
from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


@dataclass
class ToolAnswer:
    """One tool call's outcome: the summary line, the JSON content, and whether it was a tool error."""

    is_error: bool
    summary: str
    data: dict | None
    chars: int


def run(coroutine):
    """Run an MCP session to its end from synchronous code, and return its result.

    In its own thread when this thread already runs an event loop (Playwright's sync API does,
    for instance), where asyncio.run refuses.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def stdio_client(env: dict, *args: str) -> Client:
    """A client that starts `license-demo mcp ARGS` as its subprocess (stdio) with `env`."""
    return Client(StdioServerParameters(command=sys.executable, args=["-m", "license_demo.cli", "mcp", *args],
                                        env=env), read_timeout_seconds=300)


def http_client(url: str, token: str | None) -> Client:
    """A client of a streamable HTTP endpoint, sending `token` as its bearer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    return Client(streamable_http_client(url, http_client=http), read_timeout_seconds=300)


async def call(client: Client, name: str, /, **arguments) -> ToolAnswer:
    """Call the tool `name` and split its answer into summary and JSON (the second text block)."""
    result = await client.call_tool(name, arguments)
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    data = result.structured_content
    if data is None and len(texts) > 1:
        try:
            data = json.loads(texts[1])
        except ValueError:
            data = None
    return ToolAnswer(bool(result.is_error), texts[0] if texts else "", data, len(texts[1]) if len(texts) > 1 else 0)
