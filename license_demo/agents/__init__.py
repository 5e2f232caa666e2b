"""The demo's evidence and actions for any agent: the MCP server (`license-demo mcp`)."""
