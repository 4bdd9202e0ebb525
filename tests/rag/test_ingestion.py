from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import Assistant, build_assistant
from rag.corpus import run_ingestion
from rag.errors import IngestionBusy
from rag.ingest_progress import IngestProgress
from rag.ingestion import IngestionLock, ingest, stage_documents
from rag.models import Document
from rag.readers import ReadLimits
from rag.settings import Settings
from tests.conftest import ingest_into, make_pdf
from tests.hostile_files import inflating_pdf, many_page_pdf


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
    record = assistant.store.documents()["paris.txt"]
    assert (record.content_hash, record.chunks, record.title) == (chunk.content_hash, 1, "Paris")
    assert record.ingested_at.startswith("20")


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
    assert assistant.store.count() == 1
    assert "2024" in assistant.ask("Which Olympics did Paris host?").answer
    # The old version's sentences outlive it by one run, for readers caught mid-switch; then go.
    ingest_into(assistant, corpus)
    live = assistant.store.sentences_of([c.id for c in assistant.store.all_chunks()])
    assert assistant.store.sentences.count() == len(live) == 2  # "Paris" and its one sentence


def test_renamed_file_is_one_removal_and_one_addition(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    old = write(corpus, "rome.txt", ROME)
    ingest_into(assistant, corpus)
    old.rename(corpus / "italy.txt")
    report = ingest_into(assistant, corpus)
    assert (report.added, report.removed) == (["italy.txt"], ["rome.txt"])
    assert set(assistant.store.documents()) == {"italy.txt"}


def test_dry_run_reports_the_plan_and_writes_nothing(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    ingest_into(assistant, corpus)
    write(corpus, "rome.txt", ROME)
    (corpus / "paris.txt").unlink()
    report = run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus, dry_run=True)
    assert (report.added, report.removed, report.dry_run) == (["rome.txt"], ["paris.txt"], True)
    assert set(assistant.store.documents()) == {"paris.txt"}


def test_full_rebuild_re_embeds_unchanged_documents(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    ingest_into(assistant, corpus)
    report = run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus, full=True)
    assert report.changed == ["paris.txt"] and report.chunks_written == 1
    assert assistant.store.count() == 1


def test_a_failing_file_keeps_its_stored_version(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    paris = write(corpus, "paris.txt", PARIS)
    ingest_into(assistant, corpus)
    paris.write_bytes(b"\x00\x01\x02binary now")
    report = ingest_into(assistant, corpus)
    assert "binary" in report.failed["paris.txt"]
    assert "capital of France" in assistant.ask("What is the capital of France?").answer


def test_leftovers_of_an_interrupted_run_are_invisible_then_swept(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    ingest_into(assistant, corpus)
    published = assistant.store.documents()["paris.txt"]
    # A run that stored a new version's chunks and died before publishing it:
    draft = Document("paris.txt", "Paris", "Paris\n\nParis is a draft.", "d" * 64)
    stage_documents([draft], assistant.store, assistant.embedder, 256, 48)
    assert assistant.store.count() == 2
    assert [c.content_hash for c in assistant.store.all_chunks()] == [published.content_hash]
    passages = assistant.search("Paris draft", top_k=5)
    assert [p.chunk.content_hash for p in passages] == [published.content_hash]
    ingest_into(assistant, corpus)
    assert assistant.store.orphans() == [] and assistant.store.count() == 1


def test_second_ingestion_is_refused_while_one_runs(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    with IngestionLock(assistant.settings.data_dir), pytest.raises(IngestionBusy, match="another ingestion"):
        run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus)
    assert run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus).added == [
        "paris.txt"
    ]


def test_a_pdf_that_breaks_its_reader_fails_alone_and_the_run_goes_on(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    (corpus / "bomb.pdf").write_bytes(inflating_pdf())
    report = run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus)
    assert report.added == ["paris.txt"]
    assert "PDF stream too large" in report.failed["bomb.pdf"]
    write(corpus, "rome.txt", ROME)  # later runs still add, change and remove
    (corpus / "paris.txt").unlink()
    report = run_ingestion(assistant.settings, assistant.store, assistant.embedder, corpus)
    assert report.added == ["rome.txt"] and report.removed == ["paris.txt"] and "bomb.pdf" in report.failed


def test_read_limits_from_the_settings_refuse_a_file_and_keep_the_rest(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    (corpus / "pages.pdf").write_bytes(many_page_pdf(11))
    settings = assistant.settings.model_copy(update={"max_document_pages": 10})
    report = run_ingestion(settings, assistant.store, assistant.embedder, corpus)
    assert report.added == ["paris.txt"]
    assert report.failed["pages.pdf"] == "11 pages; the limit is 10 (MAX_DOCUMENT_PAGES)"


def test_chunks_missing_for_a_registered_document_are_re_embedded(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    write(corpus, "rome.txt", ROME)
    ingest_into(assistant, corpus)
    rome_chunks = [c.id for c in assistant.store.all_chunks() if c.source == "rome.txt"]
    assistant.store.delete_chunks(rome_chunks)  # the registry still lists rome.txt
    report = ingest_into(assistant, corpus)
    assert report.unchanged == ["paris.txt"] and report.changed == ["rome.txt"]
    assert "missing from the store" in report.notes["rome.txt"]
    assert "753 BC" in assistant.ask("When was Rome founded?").answer


def test_a_lost_chunk_collection_is_rebuilt_by_the_next_incremental_run(
    settings: Settings, embedder: BaseEmbedding, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "paris.txt", PARIS)
    assistant = build_assistant(settings, embedder)
    ingest_into(assistant, corpus)
    assistant.store.client.delete_collection(assistant.store.name)
    reopened = build_assistant(settings, embedder)  # e.g. the next process
    assert reopened.store.count() == 0 and list(reopened.store.documents()) == ["paris.txt"]
    report = ingest_into(reopened, corpus)
    assert report.changed == ["paris.txt"] and report.unchanged == []
    assert "capital of France" in reopened.ask("What is the capital of France?").answer


def test_progress_counts_unchanged_files_at_once_and_ends_at_the_total(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    for i in range(34):
        write(corpus, f"city{i:02d}.txt", f"City {i}\n\nCity {i} has {i} bridges. Its river is wide.")
    s = assistant.settings
    first: list[IngestProgress] = []
    report = ingest(
        corpus, assistant.store, assistant.embedder, s.chunk_size, s.chunk_overlap, on_progress=first.append
    )
    assert (first[0].documents_done, first[0].documents_total, first[0].chunks_done) == (0, 34, 0)
    assert any(0 < e.documents_done < 34 for e in first)  # written batch by batch, not all at the end
    assert [e.documents_done for e in first] == sorted(e.documents_done for e in first)
    assert (first[-1].documents_done, first[-1].chunks_done) == (34, report.chunks_written)
    assert first[-1].eta_seconds == 0.0 and first[-1].chunks_per_second > 0

    write(corpus, "paris.txt", PARIS)
    again: list[IngestProgress] = []
    ingest(
        corpus, assistant.store, assistant.embedder, s.chunk_size, s.chunk_overlap, on_progress=again.append
    )
    assert (again[0].documents_done, again[0].documents_total, again[0].documents_skipped) == (34, 35, 34)
    assert again[0].eta_seconds is None  # no pace known before a document is written
    assert (again[-1].documents_done, again[-1].chunks_done) == (35, 1)


def test_time_left_comes_from_the_pace_of_written_documents_only() -> None:
    # 10 unchanged files done at once, then 5 written in 10 s: 0.5 doc/s, 5 left, 10 s to go.
    event = IngestProgress(
        documents_done=15, documents_total=20, chunks_done=40, elapsed=10.0, documents_skipped=10
    )
    assert event.documents_per_second == 0.5 and event.eta_seconds == 10.0
    assert event.chunks_per_second == 4.0


def long_pdf_pages(count: int) -> list[str]:
    return [
        " ".join(f"Page {n} records that district {n * 7 + k} has {k + 2} bridges." for k in range(6))
        for n in range(1, count + 1)
    ]


def test_a_long_pdf_reports_its_pages_as_they_are_read_and_cites_the_right_page(
    assistant: Assistant, tmp_path: Path
) -> None:
    pages = long_pdf_pages(350)  # over one chunking window of text
    pages[299] = "The lighthouse keeper is named Ottoline Brackenbury. " + pages[299]
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "long.pdf").write_bytes(make_pdf(pages))
    s = assistant.settings
    events: list[IngestProgress] = []
    report = ingest(
        corpus, assistant.store, assistant.embedder, s.chunk_size, s.chunk_overlap, on_progress=events.append
    )
    assert report.added == ["long.pdf"]
    assert assistant.store.documents()["long.pdf"].chunks == report.chunks_written > 50
    within = [e for e in events if e.document == "long.pdf"]
    assert [e.pages_done for e in within] == sorted(e.pages_done for e in within)
    assert any(0 < e.pages_done < 350 and e.pages_total == 350 and e.documents_done == 0 for e in within)
    # Fewer than a slice of chunks: nothing is embedded before the end, so no pace is claimed.
    assert all(e.pages_embedded == 0 and e.eta_seconds is None for e in within)
    assert (events[-1].documents_done, events[-1].document, events[-1].eta_seconds) == (1, None, 0.0)
    answer = assistant.ask("What is the name of the lighthouse keeper?")
    assert "Ottoline" in answer.answer and answer.citations[0].page == 300


def test_a_pdf_failing_midway_leaves_its_published_version_and_no_drafts(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "long.pdf").write_bytes(make_pdf(["The harbour has a red lighthouse built in 1871."]))
    ingest_into(assistant, corpus)
    published = assistant.store.documents()["long.pdf"]
    # A new version whose text passes the limit well after its first chunks were embedded and stored.
    (corpus / "long.pdf").write_bytes(make_pdf(long_pdf_pages(400)))
    events: list[IngestProgress] = []
    report = ingest(
        corpus,
        assistant.store,
        assistant.embedder,
        chunk_size=32,
        chunk_overlap=8,
        limits=ReadLimits(max_chars=120_000),
        on_progress=events.append,
    )
    assert "MAX_DOCUMENT_CHARS" in report.failed["long.pdf"] and report.chunks_written == 0
    # Drafts had been written before it failed, and their pages counted as embedded, giving a pace.
    midway = [e for e in events if e.document == "long.pdf" and e.chunks_done >= 512]
    assert midway and all(0 < e.pages_embedded < e.pages_done for e in midway)
    assert all(e.eta_seconds is not None for e in midway)
    assert assistant.store.documents()["long.pdf"] == published
    assert assistant.store.count() == published.chunks and assistant.store.orphans() == []
    assert "1871" in assistant.ask("When was the lighthouse built?").answer
