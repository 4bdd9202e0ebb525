"""Typed errors of the core; the server maps each to an HTTP status in one place."""


class RagError(Exception):
    """Base of every error the core raises on purpose."""


class InvalidQuestion(RagError):
    """The question is empty, blank or too long."""


class CorpusNotFound(RagError):
    """The path to ingest does not exist."""


class EmptyCorpus(RagError):
    """The path to ingest holds no readable documents."""


class StoreUnavailable(RagError):
    """The vector store cannot be reached."""


class EmbeddingModelError(RagError):
    """The embedding model cannot be loaded."""


class EmbeddingModelMismatch(RagError):
    """The store's vectors were written by another embedding model than the configured one."""


class UnreadableDocument(RagError):
    """One file cannot be turned into text: empty, binary, corrupt, encrypted or too large."""


class UnsupportedFile(RagError):
    """A file type the readers do not handle, or an unsafe file name."""


class IngestionBusy(RagError):
    """Another ingestion holds the lock on this store."""


class DocumentNotFound(RagError):
    """No stored document has that source."""


class FileTooLarge(UnreadableDocument):
    """A file over the configured size limit."""


class DocumentTooLarge(UnreadableDocument):
    """A file that expands past a limit when read: too much text, too many pages, or too slow."""


class ConfigurationError(RagError):
    """The settings name something that cannot work, e.g. an LLM backend without a model."""


class ConversationNotFound(RagError):
    """No such conversation for this key (or no such answer in it)."""


class IngestJobNotFound(RagError):
    """No ingestion job of that id on record."""
