from pathlib import Path

import pytest

from rag.documents import extract_title, read_document, scan
from rag.errors import CorpusNotFound, EmptyCorpus


def test_find_files_walks_subfolders_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("B")
    (tmp_path / "c.csv").write_text("C")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.txt").write_text("D")
    found = scan(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == ["a.txt", "sub/b.md"]
    assert found.skipped == {"c.csv": "unsupported file type .csv"}


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFound, match="does not exist"):
        scan(tmp_path / "nope")


def test_folder_without_documents_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("x")
    with pytest.raises(EmptyCorpus, match="no documents"):
        scan(tmp_path)


def test_document_source_is_relative_with_forward_slashes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "b.md"
    path.write_text("# Heading\n\nBody.")
    document = read_document(path, tmp_path, max_bytes=10_000)
    assert document.source == "sub/b.md"
    assert document.title == "Heading"
    assert len(document.content_hash) == 64


def test_title_comes_from_the_first_line_else_the_file_name() -> None:
    assert extract_title("Normans\n\nThe Normans were...", Path("normans.txt")) == "Normans"
    long_first_line = "This is a whole paragraph that runs on and ends with a full stop."
    assert extract_title(long_first_line + "\n\nMore.", Path("my-notes_2024.txt")) == "My Notes 2024"


def test_text_that_is_not_utf8_is_decoded_by_detection_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    text = (
        "Le café est très bon à Paris, mais où est la crème brûlée? "
        "Les élèves étudient à l'école près de la forêt. Noël approche et la fenêtre est ouverte."
    )
    path.write_bytes(text.encode("cp1252"))
    document = read_document(path, tmp_path, max_bytes=10_000)
    assert "café" in document.text and "crème brûlée" in document.text
    assert document.note and "not valid UTF-8" in document.note


def test_a_corpus_file_whose_name_holds_a_control_character_is_refused_not_stored(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good\n\nA fine name.")
    (tmp_path / "two\nlines.txt").write_text("Bad\n\nA name no URL can delete.")
    found = scan(tmp_path)
    assert [p.name for p in found.files] == ["good.txt"]
    assert "control characters" in found.refused["two\nlines.txt"]
