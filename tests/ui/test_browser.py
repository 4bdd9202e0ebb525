"""The chat and the documents page in a real browser (Chromium through Playwright) against real processes.

Screenshots of what a user sees are saved into docs/ for the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.ui.conftest import Running

DOCS = ROOT / "docs"
TOMATOES = "How many hours of direct sun do tomatoes need?"
CAT = "What is the name of the keeper's cat?"
OFF_TOPIC = "Who won the 2022 FIFA World Cup?"


def open_chat(page, running: Running, query: str = "") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{running.ui}/{query}")
    page.get_by_test_id("stChatInputTextArea").wait_for()


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Type a question, send it, and wait until its answer has been saved in a conversation."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_url(re.compile(r"[?&]c=[0-9a-f]{32}"))
    page.get_by_test_id("stChatMessage").filter(has_text=question).wait_for()
    page.get_by_test_id("stFeedback").last.wait_for()


def last_answer(page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stChatMessage").last


def test_answer_links_each_marker_to_its_highlighted_passage(page, running: Running) -> None:
    open_chat(page, running)
    ask(page, TOMATOES)
    answer = last_answer(page)
    card = answer.locator(".qa-card").first
    # The quoted sentence is highlighted; the exact answer inside it, when marked, splits the highlight.
    assert "six hours of direct sun" in "".join(card.locator("mark").all_inner_texts())
    assert "Garden handbook" in card.locator(".qa-label").inner_text()
    assert "section “Tomatoes”" in card.locator(".qa-where").inner_text()
    # Document Markdown stays text: the image is not loaded, the link is not a link.
    assert card.locator("img").count() == 0 and card.locator("a").count() == 0
    assert "![tracker](http://example.invalid/pixel.png)" in card.inner_text()
    marker = answer.locator("a.qa-ref").first
    target = marker.get_attribute("href")
    assert target == f"#{card.get_attribute('id')}"
    marker.click()
    page.wait_for_function("id => location.hash === id", arg=target)
    assert not page.context.outside, page.context.outside
    page.screenshot(path=DOCS / "chat.png", full_page=True)
    card.screenshot(path=DOCS / "citation.png")


def test_the_answer_bubble_says_it_is_searching_before_the_answer_comes(page, running: Running) -> None:
    # Record every "searching" element the page ever shows, however briefly.
    page.add_init_script(
        """new MutationObserver(() => {
             for (const e of document.querySelectorAll('.qa-searching')) window.sawSearching = e.innerText;
           }).observe(document, {subtree: true, childList: true});"""
    )
    open_chat(page, running)
    ask(page, CAT)
    assert page.evaluate("window.sawSearching") == "Searching the documents…"
    assert page.locator(".qa-searching").count() == 0  # gone once the answer is there


def test_pdf_citation_shows_the_page_of_the_quoted_sentence(page, running: Running) -> None:
    open_chat(page, running)
    ask(page, CAT)
    card = last_answer(page).locator(".qa-card").first
    assert "Biscuit" in "".join(card.locator("mark").all_inner_texts())
    assert "lighthouse.pdf · page 2" in card.locator(".qa-where").inner_text()
    card.screenshot(path=DOCS / "pdf-citation.png")


def test_question_the_documents_cannot_answer_gets_a_distinct_state_with_a_hint(
    page, running: Running
) -> None:
    open_chat(page, running)
    ask(page, OFF_TOPIC)
    state = last_answer(page).locator(".qa-not-found")
    assert "Not in the documents" in state.inner_text() and "upload the document" in state.inner_text()
    assert last_answer(page).locator(".qa-card").count() == 0
    last_answer(page).screenshot(path=DOCS / "not-found.png")


def test_pages_are_named_and_streamlits_developer_controls_are_hidden(page, running: Running) -> None:
    open_chat(page, running)
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    # Each link's text ends with its title (an icon's ligature comes first).
    assert [link.inner_text().split()[-1] for link in links.all()] == ["Chat", "Documents"]
    assert page.get_by_role("button", name="Deploy").count() == 0
    page.get_by_test_id("stMainMenu").click()
    assert page.get_by_text("Clear cache").count() == 0 and page.get_by_text("Rerun").count() == 0


def test_empty_chat_offers_questions_from_the_document_titles(page, running: Running) -> None:
    open_chat(page, running)
    example = page.get_by_role("button", name=re.compile("Garden handbook"))
    example.click()
    page.wait_for_url(re.compile(r"[?&]c="))
    assert "Garden handbook" in page.get_by_test_id("stChatMessage").first.inner_text()


def test_a_reload_resumes_the_conversation_and_the_sidebar_lists_it(page, running: Running) -> None:
    open_chat(page, running)
    ask(page, TOMATOES)
    address = page.url
    page.reload()
    page.get_by_test_id("stChatMessage").filter(has_text=TOMATOES).wait_for()
    page.get_by_test_id("stFeedback").last.wait_for()  # the answer, drawn after the question
    assert page.url == address
    assert last_answer(page).locator(".qa-card mark").count() >= 1
    # Another tab, as another browser would be: the conversation is in the sidebar.
    open_chat(page, running)
    page.get_by_test_id("stSidebar").get_by_role("button", name=TOMATOES).first.click()
    page.get_by_test_id("stChatMessage").filter(has_text=TOMATOES).wait_for()
    assert page.url.split("c=")[1] == address.split("c=")[1]


def test_thumbs_down_with_a_comment_is_exported_for_evaluation(page, running: Running) -> None:
    open_chat(page, running)
    question = "When are roses pruned?"
    ask(page, question)
    last_answer(page).get_by_role("radio", name="Thumbs down").click()
    comment = last_answer(page).get_by_role("textbox")
    comment.wait_for()
    comment.fill("Say which month")
    last_answer(page).get_by_role("button", name="Send comment").click()
    page.get_by_text("Comment saved").wait_for()
    rows = [json.loads(line) for line in httpx.get(f"{running.api}/feedback.jsonl").text.splitlines()]
    mine = [r for r in rows if r["question"] == question]
    assert mine and mine[-1]["rating"] == "down" and mine[-1]["comment"] == "Say which month"


def test_upload_then_delete_with_confirmation(page, running: Running, tmp_path: Path) -> None:
    page.goto(f"{running.ui}/documents")
    page.get_by_text("In the store: 2 documents").wait_for()
    assert "up to 50 MB a file" in page.get_by_test_id("stCaptionContainer").first.inner_text()
    files = [tmp_path / "tides.md", tmp_path / "empty.txt"]
    files[0].write_text("# Tides\n\nThe harbour has two high tides a day.")
    files[1].write_text("")
    page.locator("input[type=file]").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Upload and ingest").click()
    page.get_by_text("In the store: 3 documents").wait_for(timeout=60_000)
    assert "tides.md: added" in page.get_by_test_id("stAlertContentSuccess").first.inner_text()
    assert "empty.txt: failed: Empty file" in page.get_by_test_id("stAlertContentError").first.inner_text()
    page.screenshot(path=DOCS / "documents.png", full_page=True)
    combo = page.get_by_role("combobox", name="Document")
    combo.click()
    combo.press_sequentially("tides")  # typing opens the list filtered (a plain click may not)
    page.get_by_role("option", name="tides.md").click()
    page.get_by_role("button", name="Delete document…").click()
    page.get_by_text("This cannot be undone").wait_for()
    assert (running.corpus / "tides.md").exists()
    page.get_by_role("button", name="Yes, delete").click()
    page.get_by_text("Deleted “tides.md”").wait_for()
    page.get_by_text("In the store: 2 documents").wait_for()
    assert not (running.corpus / "tides.md").exists()


def test_api_docs_page_works_with_the_network_blocked(page, running: Running) -> None:
    page.goto(f"{running.api}/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="Document Q&A").wait_for()
    page.locator(".opblock-summary-path", has_text="/ask").first.wait_for()
    assert not page.context.outside, page.context.outside


@pytest.fixture(autouse=True)
def _docs_folder() -> None:
    DOCS.mkdir(exist_ok=True)
