"""Word search in the window: the search box with completion, "no photo is labelled like that",
narrowing results by a word, and the photo info panel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from photosim.gui.grid import PhotoModel


def test_typing_a_word_finds_the_photos_labelled_so(qtbot, window, photo_dir: Path) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: len(window.words.words) > 0, timeout=60_000)  # completion is loaded
    offered = window.search_box.words.stringList()
    assert "cat" in offered and "animal" in offered
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    window.search_box.completer_.setCompletionPrefix("ca")
    assert "cat" in {window.search_box.completer_.completionModel().index(r, 0).data()
                     for r in range(window.search_box.completer_.completionModel().rowCount())}
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        qtbot.keyClicks(window.search_box, "cats")
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert [Path(r.path).name for r in blocker.args[0]] == ["chelsea.jpg"]
    assert window.header.title.text() == "Photos of cats"
    assert window.header.subtitle.text().startswith("1 photo labelled cat")


def test_a_word_no_photo_carries_says_so(qtbot, window) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.find_by_words("dog")
    assert blocker.args[0] == [] and window.model.rowCount() == 0
    assert "no photo is labelled like that" in window.header.subtitle.text().lower()
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_by_words("blorp")
    assert "knows no word" in window.header.subtitle.text()
    # a word it does not know beside one it does: the photos, and the word left out named
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.find_by_words("a red cat")
    assert [Path(r.path).name for r in blocker.args[0]] == ["chelsea.jpg"]
    assert "left out 'red': photosim finds what photos show, not colours" in window.header.subtitle.text()
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_by_words("photos of my cat")
    assert window.header.title.text() == "Photos of my cat"  # not "Photos of photos of my cat"


def test_a_word_cut_short_or_misspelt_offers_the_word_meant(qtbot, window) -> None:  # noqa: ANN001
    """Found trying the app: 'bir' typed and Enter pressed before the completion was picked said only
    "photosim knows no word 'bir'". The answer now offers the words meant, as links that search."""
    qtbot.waitUntil(lambda: len(window.words.words) > 0, timeout=60_000)
    for typed in ("ca", "cta"):  # cut short; misspelt
        with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
            window.find_by_words(typed)
        assert blocker.args[0] == []
        subtitle = window.header.subtitle.text()
        assert "knows no word" in subtitle and 'href="cat"' in subtitle, subtitle
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.header.subtitle.linkActivated.emit("cat")  # the user clicks the link
    assert [Path(r.path).name for r in blocker.args[0]] == ["chelsea.jpg"]
    assert window.search_box.text() == "cat" and window.header.title.text() == "Photos of cat"
    assert window.header.subtitle.textFormat() == Qt.TextFormat.PlainText  # file names stay plain text


def test_similar_results_narrowed_by_a_word(qtbot, window, photo_dir: Path) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(photo_dir / "coffee.jpg"))
    assert window.only_box.isVisible()
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        qtbot.keyClicks(window.only_box, "cat")
        qtbot.keyClick(window.only_box, Qt.Key.Key_Return)
    assert [Path(r.path).name for r in blocker.args[0]] == ["chelsea.jpg"]  # "similar to this, only cats"
    assert window.header.title.text() == "Similar to coffee.jpg, only cat"
    window.only_box.clear()
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        qtbot.keyClicks(window.only_box, "a cat")  # as people type it: the window's check let it through
        qtbot.keyClick(window.only_box, Qt.Key.Key_Return)
    assert [Path(r.path).name for r in blocker.args[0]] == ["chelsea.jpg"]
    window.back_to_library()
    assert not window.only_box.isVisible() and window.only_box.text() == ""


def test_the_info_panel_follows_the_selected_photo(qtbot, window, photo_dir: Path) -> None:  # noqa: ANN001
    model = window.grid.model()
    row = next(r for r in range(model.rowCount()) if model.index(r).data(PhotoModel.PathRole).endswith("chelsea.jpg"))
    window.grid.setCurrentIndex(model.index(row))
    assert not window.info_panel.isVisible()
    with qtbot.waitSignal(window.info.shown, timeout=30_000) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    info = blocker.args[0]
    assert window.info_panel.isVisible() and info.path == str(photo_dir / "chelsea.jpg")
    panel = window.info_panel
    assert panel.name.text() == "chelsea.jpg"
    assert "cat" in panel.fields["tags"].text()
    assert panel.fields["size"].text().startswith("451 × 300 px")
    assert panel.fields["folder"].text() == str(photo_dir)
    other = next(r for r in range(model.rowCount()) if r != row)
    with qtbot.waitSignal(window.info.shown, timeout=30_000) as blocker:
        window.grid.setCurrentIndex(model.index(other))
    assert blocker.args[0].photo_id == model.index(other).data(PhotoModel.PhotoIdRole)


def test_completion_offers_the_last_word_of_a_sentence(qtbot, window) -> None:  # noqa: ANN001
    """The box said it completes the last word typed, but a plain completer completes the whole line:
    once "a red ca" was typed nothing was offered (and words are now typed as sentences)."""
    qtbot.waitUntil(lambda: len(window.words.words) > 0, timeout=60_000)
    box, completer = window.search_box, window.search_box.completer_
    box.setFocus()

    def offered() -> list[str]:
        model = completer.completionModel()
        return [model.index(r, 0).data() for r in range(model.rowCount())]

    qtbot.keyClicks(box, "a red ca")
    qtbot.waitUntil(lambda: completer.popup().isVisible(), timeout=5000)
    assert "cat" in offered() and all(w.lower().startswith("ca") for w in offered())
    row = offered().index("cat")
    completer.popup().setCurrentIndex(completer.completionModel().index(row, 0))
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)
    assert box.text() == "a red cat"
    box.clear()
    qtbot.keyClicks(box, "a red ")  # after a space: no list of every word
    assert not completer.popup().isVisible() or offered() == []
    box.clear()
    qtbot.keyClicks(box, "an")  # a single word as before
    qtbot.waitUntil(lambda: completer.popup().isVisible(), timeout=5000)
    assert "animal" in offered()
    completer.popup().hide()


def test_a_known_phrase_is_completed_whole(qapp) -> None:  # noqa: ANN001
    from PySide6.QtCore import QStringListModel

    from photosim.gui.words import LastWordCompleter

    completer = LastWordCompleter(QStringListModel(["golden retriever", "gold", "cat", "catamaran"]))
    assert completer.splitPath("golden retr") == ["golden retr"]  # a known phrase starts with the whole text
    assert completer.splitPath("a red ca") == ["ca"]

    def picked() -> list[str]:  # what the line becomes for each word offered (Qt passes source indexes)
        model = completer.completionModel()
        return [completer.pathFromIndex(model.mapToSource(model.index(r, 0))) for r in range(model.rowCount())]

    completer.setCompletionPrefix("golden retr")
    assert picked() == ["golden retriever"]
    completer.setCompletionPrefix("a red ca")
    assert picked() == ["a red cat", "a red catamaran"]


def test_the_search_boxs_examples_are_words_photosim_knows(window) -> None:  # noqa: ANN001
    """The placeholder said "dog, beach, castle…" while 'beach' was no word photosim knew."""
    import re

    from photosim.core.wordnet import load_taxonomy

    examples = re.match(r"Search by word: (.*)…", window.search_box.placeholderText())
    assert examples is not None
    words = [w.strip() for w in examples.group(1).split(",")]
    assert len(words) >= 3 and all(load_taxonomy().is_known(w) for w in words), words
