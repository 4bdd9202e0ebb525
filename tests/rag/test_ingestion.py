from pathlib import Path

from rag.assistant import Assistant
from tests.conftest import ingest_into


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


PARIS = "Paris\n\nParis is the capital of France. It lies on the Seine."
ROME = "Rome\n\nRome is the capital of Italy. It was founded, legend says, in 753 BC."


def test_chunks_keep_source_title_hash_index_and_offsets(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    ingest_into(assistant, corpus)
    [chunk] = assistant.store.all_chunks()
    assert (chunk.source, chunk.title, chunk.index) == ("paris.txt", "Paris", 0)
    assert PARIS[chunk.start_char : chunk.end_char] == chunk.text
    assert assistant.store.documents() == {"paris.txt": chunk.content_hash}


def test_ingesting_twice_does_not_duplicate_or_re_embed(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    write(corpus, "rome.txt", ROME)
    first = ingest_into(assistant, corpus)
    count = assistant.store.count()
    second = ingest_into(assistant, corpus)
    assert first.added == ["paris.txt", "rome.txt"]
    assert second.unchanged == ["paris.txt", "rome.txt"] and second.chunks_written == 0
    assert assistant.store.count() == count


def test_changed_file_replaces_its_chunks_and_removed_file_is_dropped(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    paris = write(corpus, "paris.txt", PARIS)
    rome = write(corpus, "rome.txt", ROME)
    ingest_into(assistant, corpus)
    paris.write_text("Paris\n\nParis hosted the 2024 Summer Olympics.")
    rome.unlink()
    report = ingest_into(assistant, corpus)
    assert (report.changed, report.removed) == (["paris.txt"], ["rome.txt"])
    texts = [c.text for c in assistant.store.all_chunks()]
    assert texts == ["Paris\n\nParis hosted the 2024 Summer Olympics."]
    answer = assistant.ask("Which Olympics did Paris host?")
    assert "2024" in answer.answer


def test_empty_file_is_reported_and_the_rest_is_ingested(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "empty.txt", "   \n")
    write(corpus, "rome.txt", ROME)
    report = ingest_into(assistant, corpus)
    assert report.failed == {"empty.txt": "empty document"}
    assert report.added == ["rome.txt"]
    assert "1 failed" in report.summary()
