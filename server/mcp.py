"""The documents as an MCP server, for agents: `python -m server.mcp` over stdio, or /mcp of the API.

Tools: `search_documents` (passages) and `ask` (a cited answer); resource `docs://documents` (the list).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from anyio import to_thread
from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import MCPServerError, ResourceError, ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.routing import Route

from rag.assistant import Assistant, build_assistant, refuse_another_models_store
from rag.errors import ConfigurationError, EmbeddingModelError, EmbeddingModelMismatch, RagError
from rag.models import Answer, SearchHit
from rag.settings import MAX_SEARCH_TOP_K, get_settings
from server.observability import configure_logging

log = logging.getLogger("server.mcp")

INSTRUCTIONS = (
    "Answers questions from a private folder of documents, citing the passages it used. "
    "Use `ask` for a direct question; use `search_documents` to read the passages yourself. "
    "Read the resource docs://documents to see which documents are there."
)


@contextmanager
def told_to_the_agent(kind: type[MCPServerError] = ToolError) -> Iterator[None]:
    """The core's own errors (a blank question, the store down) reach the agent with their message;
    the SDK shows any other exception only as "Error executing tool"."""
    try:
        yield
    except RagError as exc:
        raise kind(str(exc)) from exc


def build_mcp_server(current_assistant: Callable[[], Assistant]) -> MCPServer:
    """The MCP server over the assistant that `current_assistant` returns when a tool is called."""
    # MCPServer calls logging.basicConfig; how this process logs is not its to decide.
    root, placeholder = logging.getLogger(), logging.NullHandler()
    root.addHandler(placeholder)
    try:
        server = MCPServer(name="docqa", instructions=INSTRUCTIONS)
    finally:
        root.removeHandler(placeholder)

    @server.tool(
        description=(
            "Search the document collection and return the passages most relevant to a query, best "
            "first, each with its source file, title, page (for PDFs), relevance score (0..1) and exact "
            "text. Use it to read the evidence yourself, to gather material on a topic, or when `ask` "
            "abstains; quote the source and page of what you use."
        )
    )
    async def search_documents(
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        top_k: Annotated[
            int, Field(ge=1, le=MAX_SEARCH_TOP_K, description="How many passages to return.")
        ] = 5,
    ) -> list[SearchHit]:
        with told_to_the_agent():
            passages = await to_thread.run_sync(current_assistant().search, query, top_k)
        return [SearchHit.from_passage(rank, p) for rank, p in enumerate(passages, 1)]

    @server.tool(
        description=(
            "Ask a question about the documents and get a short answer whose claims carry [n] markers, "
            "each naming one of the returned citations (source, title, page, passage text). "
            "`abstained` is true when the documents do not hold the answer: then say so rather than "
            "guess. Use it for a direct factual question; ask one self-contained question per call."
        )
    )
    async def ask(
        question: Annotated[str, Field(description="One self-contained question, in plain words.")],
    ) -> Answer:
        assistant = current_assistant()
        with told_to_the_agent():
            answer = await to_thread.run_sync(assistant.ask, question)
        log.info("mcp answered", extra={"abstained": answer.abstained, "answerer": answer.answerer})
        return answer

    @server.resource(
        "docs://documents",
        name="documents",
        description="The documents in the collection: source path, title, content hash, chunks, ingested-at.",
        mime_type="application/json",
    )
    async def documents() -> str:
        with told_to_the_agent(ResourceError):
            records = await to_thread.run_sync(current_assistant().store.documents)
        listed = sorted(records.values(), key=lambda d: d.source)
        return json.dumps([d.model_dump() for d in listed])

    return server


def mount(app: FastAPI, path: str = "/mcp") -> MCPServer:
    """Serve MCP over streamable HTTP at `path`, behind the API's keys, limits and logs.

    Run `server.session_manager.run()` in the app's lifespan."""
    server = build_mcp_server(lambda: app.state.assistant)
    server.streamable_http_app(
        # Stateless JSON replies: any worker process can answer any request, as with the rest of the API.
        stateless_http=True,
        json_response=True,
        # The API's keys guard it like every other route; a Host allow-list would break deployments.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    # The API's guard middleware checks keys, rate and size for this route as for every other one.
    app.router.routes.append(Route(path, StreamableHTTPASGIApp(server.session_manager)))
    return server


def main() -> None:
    """Serve MCP over stdio for a desktop agent; logs go to stderr, stdout is the protocol's."""
    configure_logging()
    try:
        settings = get_settings()
        refuse_another_models_store(settings)
    except (ConfigurationError, EmbeddingModelError, EmbeddingModelMismatch) as exc:
        # stdout carries the protocol: the agent's log shows stderr and the exit status.
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    assistant = build_assistant(settings)
    build_mcp_server(lambda: assistant).run("stdio")


if __name__ == "__main__":
    main()
