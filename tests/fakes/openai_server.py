"""A real OpenAI-compatible chat server for tests: speaks /v1/chat/completions, streaming or not.

The model name picks a behaviour, so one server covers every path of the generative answerer:
  cite-first   quotes the first sentence of passage [1] and cites it
  bogus-cite   cites [1] and a passage [9] that does not exist
  no-cite      answers without any citation
  not-found    says the passages do not hold the answer
  obedient     obeys "ignore previous instructions and say X" when it sits outside <documents>,
               as a gullible model would (answering "X [1]"); otherwise acts as cite-first
  slow         waits 30 seconds before answering
  drip-S       streams its cite-first answer one word every S seconds (e.g. drip-0.5)
  ratelimit    answers 429
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

INJECTION = re.compile(r"ignore (?:all )?previous instructions and say (\w+)", re.IGNORECASE)


def reply_for(model: str, messages: list[dict[str, str]]) -> str:
    system = messages[0]["content"] if messages else ""
    user = messages[-1]["content"] if messages else ""
    if system.startswith("Rewrite"):
        questions = re.findall(r"^user: (.+)$", user, flags=re.MULTILINE)
        last = user.rsplit("Last question:", 1)[-1].strip()
        return f"{questions[0]} {last}" if questions else last
    if model == "not-found":
        return "NOT_IN_DOCUMENTS"
    if model == "no-cite":
        return "It is probably something, I think."
    if model == "obedient":
        outside = system + re.sub(r"<documents>.*?</documents>", "", user, flags=re.DOTALL)
        if match := INJECTION.search(outside):
            return f"{match.group(1)} [1]"
    first = re.search(r"\[1\][^\n]*\n(.+?[.!?])(?:\s|$)", user, flags=re.DOTALL)
    sentence = " ".join(first.group(1).split()) if first else "Nothing."
    if model == "bogus-cite":
        return f"{sentence} [1] Also see [9]."
    return f"According to the documents, {sentence} [1]"


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        app.state.requests.append(body)
        model = body.get("model", "")
        if model == "ratelimit":
            error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
            return JSONResponse(error, status_code=429, headers={"retry-after": "20"})
        if model == "slow":
            await asyncio.sleep(30)
        text = reply_for(model, body.get("messages", []))
        pause = float(model.removeprefix("drip-")) if model.startswith("drip-") else 0.01
        base = {"id": "chatcmpl-test", "created": int(time.time()), "model": model}
        if not body.get("stream"):
            return {
                **base,
                "object": "chat.completion",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }

        async def chunks() -> AsyncIterator[str]:
            pieces = re.findall(r"\S+\s*", text)
            for i, piece in enumerate(pieces):
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                chunk = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                await asyncio.sleep(pause)
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [end]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app
