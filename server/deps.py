"""What routes depend on: the one assistant of the process, and the admin key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from rag.assistant import Assistant


def current_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(current_assistant)]


def require_admin(
    assistant: AssistantDep,
    x_api_key: Annotated[str | None, Header(description="Admin key, when ADMIN_API_KEY is set.")] = None,
    authorization: Annotated[str | None, Header(description="`Bearer <admin key>`, the alternative.")] = None,
) -> None:
    """Let a write through only with the admin key, when one is configured."""
    expected = assistant.settings.admin_api_key
    if expected is None:
        return
    given = x_api_key
    if not given and authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    # Constant-time comparison, so response timing reveals nothing about the key.
    if not given or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(status_code=401, detail="missing or wrong API key")
