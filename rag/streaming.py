"""Answer text that can be shown while it streams, for clients that cannot take back what they showed.

An OpenAI-style stream only appends, so text is released only once it is backed: nothing shows until
the answer holds a citation marker naming a real passage (an answer that never cites, "not in the
documents" and an echoed prompt are thus never shown, and the checked answer replaces them); after
that, text flows as it comes, with markers naming no passage removed and a half-written marker held
back until it closes.
"""

from __future__ import annotations

import re

from rag.generative import check_citations, echoes_prompt
from rag.models import Answer

_PARTIAL_MARKER = re.compile(r"\s*\[[\d,\s]*$")


class CheckedText:
    """Feeds of raw answer text in, the part safe to show out; `finish` gives what the final answer adds."""

    def __init__(self, passages: int) -> None:
        self.passages = passages  # markers [1]..[passages] are valid
        self.raw = ""
        self.shown = ""

    def feed(self, delta: str) -> str:
        """The text newly safe to show after this piece; empty while held back."""
        self.raw += delta
        if echoes_prompt(self.raw):
            return ""
        cleaned, used = check_citations(self.raw, self.passages)
        if not used and not self.shown:
            return ""
        partial = _PARTIAL_MARKER.search(cleaned)
        safe = (cleaned[: partial.start()] if partial else cleaned).rstrip()
        if not safe.startswith(self.shown):  # a later piece changed what came before: wait for the end
            return ""
        new, self.shown = safe[len(self.shown) :], safe
        return new

    def finish(self, answer: Answer) -> str:
        """The rest of the final, checked answer; when it differs from what was shown, all of it, apart."""
        if answer.answer.startswith(self.shown):
            return answer.answer[len(self.shown) :]
        return f"\n\n{answer.answer}"
