"""Operator actions on the corpus folder and the store: ingest under a lock, upload, delete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.documents import SUPPORTED_SUFFIXES, file_name_problem, read_document
from rag.embedding import release_models
from rag.errors import DocumentNotFound, EmbeddingModelMismatch, FileTooLarge, UnsupportedFile
from rag.ingest_progress import ProgressCallback
from rag.ingestion import IngestionLock, IngestReport, ingest, remove_document
from rag.lexical import cached_index
from rag.model_record import describe
from rag.readers import ReadLimits
from rag.settings import Settings
from rag.store import Store


def run_ingestion(
    settings: Settings,
    store: Store,
    embedder: BaseEmbedding | Callable[[], BaseEmbedding],
    root: Path | None = None,
    full: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest root (default: the corpus folder) while holding the store's ingestion lock."""
    with IngestionLock(settings.data_dir):
        report = ingest_locked(settings, store, embedder, root, full, dry_run, on_progress)
        if not dry_run and not store.listened:
            # No reader in this process (python -m ingest): leave the new generation's BM25 index on
            # disk, so the API loads it instead of building it while questions wait.
            if not isinstance(embedder, BaseEmbedding):
                release_models()  # loaded for this run only: 100 MB the index's build can use
            folder, generation = settings.data_dir / "bm25" / store.name, store.generation()
            if generation and not (folder / generation).exists():
                cached_index(folder, generation, store.all_chunks)
        return report


def ingest_locked(
    settings: Settings,
    store: Store,
    embedder: BaseEmbedding | Callable[[], BaseEmbedding],
    root: Path | None = None,
    full: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest into the store, or with another embedding model and full, into new collections that
    replace the store's once all is written (see prepare_model)."""
    embedder, staged = prepare_model(settings, store, embedder, full, dry_run)
    report = ingest(
        root or settings.corpus_dir,
        staged or store,
        embedder,
        settings.chunk_size,
        settings.chunk_overlap,
        max_file_bytes=settings.max_file_bytes,
        limits=read_limits(settings),
        full=full,
        dry_run=dry_run,
        on_progress=on_progress,
    )
    if staged is not None:
        store.replace_with(staged)
    return report


def prepare_model(
    settings: Settings,
    store: Store,
    embedder: BaseEmbedding | Callable[[], BaseEmbedding],
    full: bool,
    dry_run: bool,
) -> tuple[BaseEmbedding | Callable[[], BaseEmbedding], Store | None]:
    """Check that the store's vectors are the configured model's before anything is written.

    A store of another model is refused (EmbeddingModelMismatch), or with full, gets empty staging
    collections to rebuild into: a rebuild that fails or is killed midway leaves the old store whole.
    A store written before models were recorded is accepted (unless its dimension differs) and
    recorded. The model is loaded only when the store names another one, or none.
    """
    stored = store.model_record()
    if stored is not None and stored.model == settings.embed_model:
        return embedder, None
    model = embedder if isinstance(embedder, BaseEmbedding) else embedder()
    configured = describe(model, settings.embed_model)
    try:
        store.check_model(configured)
    except EmbeddingModelMismatch:
        if not full or dry_run:
            raise
        staged = store.staging()
        staged.record_model(configured)
        return model, staged
    if stored is None and not dry_run:
        store.record_model(configured)
    return model, None


def upload_and_ingest(
    settings: Settings,
    store: Store,
    embedder: BaseEmbedding | Callable[[], BaseEmbedding],
    name: str,
    data: bytes,
) -> tuple[Path, IngestReport]:
    """Save an upload into the corpus and ingest, both under the lock: a refused upload leaves no trace."""
    safe_file_name(name)  # a bad name is refused before waiting on anything
    with IngestionLock(settings.data_dir):
        path = save_upload(settings, name, data)
        return path, ingest_locked(settings, store, embedder)


def read_limits(settings: Settings) -> ReadLimits:
    """How far one file may expand when read, from the settings."""
    return ReadLimits(
        max_chars=settings.max_document_chars,
        max_pages=settings.max_document_pages,
        max_seconds=settings.max_read_seconds,
    )


def safe_file_name(name: str) -> str:
    """The bare file name of an upload: any directory part is dropped, so nothing lands outside."""
    bare = PureWindowsPath(PurePosixPath(name).name).name.strip()
    if not bare or bare in {".", ".."} or bare.startswith("."):
        raise UnsupportedFile(f"unusable file name {name!r}")
    if problem := file_name_problem(bare):
        raise UnsupportedFile(f"unusable file name {name[:80]!r}: {problem}")
    if Path(bare).suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFile(f"unsupported file type {Path(bare).suffix or '(none)'}; supported: {kinds}")
    return bare


def save_upload(settings: Settings, name: str, data: bytes) -> Path:
    """Check an uploaded file parses, then move it into the corpus folder atomically."""
    bare = safe_file_name(name)
    if len(data) > settings.max_file_bytes:
        # The API reads one byte past the limit and stops: the true size is not known here.
        raise FileTooLarge(f"file is larger than the {settings.max_file_bytes:,}-byte limit (MAX_FILE_BYTES)")
    corpus = settings.corpus_dir.resolve()
    corpus.mkdir(parents=True, exist_ok=True)
    target = corpus / bare
    if not target.resolve().is_relative_to(corpus):  # e.g. an existing symlink of that name
        raise UnsupportedFile(f"refusing to write {name!r} outside the corpus")
    # Hidden staging name: a concurrent scan skips it, and a bad file never replaces a good one.
    fd, staging_name = tempfile.mkstemp(dir=corpus, prefix=".upload-", suffix=Path(bare).suffix)
    staging = Path(staging_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        read_document(staging, corpus, settings.max_file_bytes, read_limits(settings))
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def delete_document(settings: Settings, store: Store, source: str) -> None:
    """Remove a document from the store and its file from the corpus folder."""
    if source not in store.documents():
        raise DocumentNotFound(f"no document {source!r} in the store")
    with IngestionLock(settings.data_dir):
        remove_document(store, source)
        store.bump_generation()
    corpus = settings.corpus_dir.resolve()
    # The file named, never what it points to: a symlink is removed, its target stays.
    path = corpus / source
    if path.parent.resolve().is_relative_to(corpus) and (path.is_symlink() or path.is_file()):
        path.unlink()
