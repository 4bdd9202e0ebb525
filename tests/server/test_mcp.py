"""The MCP server, driven by the `mcp` SDK's own client: over stdio, and over HTTP inside the API process."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from rag.assistant import Assistant
from rag.settings import MAX_SEARCH_TOP_K
from tests.conftest import ROOT, api_process, process_env

KEY = "agent-key"
SOURCE = "north-korean-troops-to-russia.txt"


@pytest.fixture(scope="module")
def api_url(corpus_assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One API process for the module, over the shipped corpus, with keys."""
    env = process_env(corpus_assistant.settings, API_KEYS=KEY)
    with api_process(env, tmp_path_factory.mktemp("mcp-api") / "api.log") as url:
        yield url


def over_http(url: str, key: str = KEY) -> Client:
    headers = {"Authorization": f"Bearer {key}"}
    return Client(streamable_http_client(f"{url}/mcp", http_client=httpx2.AsyncClient(headers=headers)))


def everything(client: Client) -> dict[str, Any]:
    """What an agent does first: list the tools, call both, read the document list."""

    async def session() -> dict[str, Any]:
        async with client:
            tools = (await client.list_tools()).tools
            search = await client.call_tool("search_documents", {"query": "troops deployment", "top_k": 2})
            ask = await client.call_tool("ask", {"question": "How many North Korean troops are deployed?"})
            resources = (await client.list_resources()).resources
            listing = await client.read_resource("docs://documents")
        return {"tools": tools, "search": search, "ask": ask, "resources": resources, "listing": listing}

    return anyio.run(session)


def check(results: dict[str, Any]) -> None:
    """The tools are described for an agent, and return passages and answers with citations."""
    described = {t.name: t.description or "" for t in results["tools"]}
    [search_tool] = [t for t in results["tools"] if t.name == "search_documents"]
    assert search_tool.input_schema["properties"]["top_k"]["maximum"] == MAX_SEARCH_TOP_K
    assert set(described) == {"search_documents", "ask"}
    assert "Use it" in described["search_documents"] and "Use it" in described["ask"]
    search, ask = results["search"], results["ask"]
    assert not search.is_error and not ask.is_error
    hits = search.structured_content["result"]
    assert len(hits) == 2 and hits[0]["rank"] == 1 and hits[0]["source"] == SOURCE
    answer = ask.structured_content
    assert "1500" in answer["answer"] and "[1]" in answer["answer"] and answer["abstained"] is False
    assert answer["citations"][0]["source"] == SOURCE
    assert [r.uri for r in results["resources"]] == ["docs://documents"]
    documents = json.loads(results["listing"].contents[0].text)
    assert [d["source"] for d in documents] == [SOURCE]


def test_over_http_an_agent_lists_tools_calls_both_and_reads_the_documents(api_url: str) -> None:
    check(everything(over_http(api_url)))


def test_over_stdio_an_agent_lists_tools_calls_both_and_reads_the_documents(
    corpus_assistant: Assistant, tmp_path: Path
) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server.mcp"],
        env=process_env(corpus_assistant.settings),
        cwd=ROOT,
    )
    check(everything(Client(server)))


def test_over_http_a_wrong_key_is_refused(api_url: str) -> None:
    with pytest.raises(ExceptionGroup) as raised:
        everything(over_http(api_url, key="wrong"))
    assert raised.group_contains(MCPError, depth=None)
    refused = httpx2.post(f"{api_url}/mcp", json={}, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401


def test_a_bad_question_is_a_tool_error_not_a_crash(api_url: str) -> None:
    async def session() -> tuple[Any, Any]:
        async with over_http(api_url) as client:
            blank = await client.call_tool("ask", {"question": "   "})
            return blank, await client.call_tool("search_documents", {"query": "troops", "top_k": 0})

    blank, zero = anyio.run(session)
    assert blank.is_error and "the question is empty" in blank.content[0].text
    assert zero.is_error
