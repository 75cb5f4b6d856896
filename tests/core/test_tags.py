"""Labels, words and look-alikes on real photos with the real model (issue 12).

One library of the eight sample photos (plus an edited copy of the cat and a photo with camera EXIF)
is indexed once for the module: every test here reads it, none changes it. Tests that change a
library (backfill, migration) build their own.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosim.core.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog, _migration_labels, encode_vector
from photosim.core.indexer import Indexer
from photosim.core.library import Library
from photosim.core.progress import RunControl
from photosim.core.search import Searcher
from photosim.core.semantic import SemanticIndex, semantic_vectors
from photosim.core.tags import (
    NO_MATCH,
    TOP_K,
    LabelBackfill,
    LabelIndex,
    camera_of,
    decode_labels,
    encode_labels,
    labels_model_for,
    photo_info,
    tags_of,
)
from photosim.core.word_results import word_results
from photosim.core.wordnet import load_taxonomy
from tests.conftest import SMALL_SET
from tests.photos import mirror, save_jpeg


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory, originals_dir: Path, embedder) -> Iterator[Library]:  # noqa: ANN001
    """A library of the sample photos, indexed once: chelsea, coffee, rocket..., a mirrored chelsea, a camera photo."""
    root = tmp_path_factory.mktemp("labelled")
    photos = root / "photos"
    photos.mkdir()
    for name in SMALL_SET:
        shutil.copy(originals_dir / f"{name}.jpg", photos / f"{name}.jpg")
    save_jpeg(mirror(Image.open(originals_dir / "chelsea.jpg")), photos / "chelsea-mirrored.jpg")
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif[0x0132] = "2021:05:04 10:11:12"
    save_jpeg(Image.open(originals_dir / "coffee.jpg"), photos / "coffee-camera.jpg", quality=80, exif=exif)
    lib = Library(root / "data", embedder=embedder)
    lib.catalog.add_folder(str(photos))
    report = Indexer(lib, workers=2).run()
    assert report.indexed == len(SMALL_SET) + 2 and report.failed == 0
    yield lib
    lib.close()


def _id(lib: Library, name: str) -> int:
    row = next(r for r in lib.catalog.library_page() if Path(r.path).name == name)
    return row.id


def _names(hits) -> list[str]:  # noqa: ANN001
    return [Path(h.path).name for h in hits]


# -- the shipped WordNet resource -------------------------------------------------------------
def test_the_wordnet_resource_is_the_imagenet_tree() -> None:
    tx = load_taxonomy()
    assert tx.n_classes == 1000 and tx.n_nodes == 1860
    offsets = [int(w[1:]) for w in tx.class_wnids]
    assert offsets == sorted(offsets) and len(set(offsets)) == 1000  # the classifier's order
    assert (tx.class_wnids[0], tx.class_names[0]) == ("n01440764", "tench")
    assert (tx.class_wnids[281], tx.class_names[281]) == ("n02123045", "tabby")
    # General words cover their kinds (hyponyms), plurals and phrases are understood.
    for word, member in (("fish", "tench"), ("building", "palace"), ("structure", "castle"), ("tool", "screwdriver"), ("dogs", "golden retriever"),
                         ("bird", "goose"), ("boat", "canoe"), ("car", "sports car"), ("food", "pizza"),
                         ("furniture", "four-poster"), ("instrument", "violin"), ("flower", "daisy")):
        assert tx.class_names.index(member) in tx.classes_for(word), (word, member)
    assert tx.class_names.index("tench") not in tx.classes_for("bird")
    assert len(tx.classes_for("dog")) == 118
    assert tx.lemma_form("Geese") == "goose" and tx.lemma_form("BOXES") == "box" and tx.lemma_form("blorp") is None
    assert tx.split_words(["golden", "retriever", "blorp"]) == (["golden retriever"], ["blorp"])
    assert tx.broader(tx.class_names.index("tabby"))[:2] == ["domestic cat", "cat"]


@pytest.mark.slow  # about 20 s, most of it importing torchvision for the class names
def test_the_wordnet_resource_is_rebuilt_identically(tmp_path: Path) -> None:
    """The committed file is what the committed script makes (where Debian's wordnet-base is installed)."""
    if not Path("/usr/share/wordnet/data.noun").exists():
        pytest.skip("Debian's wordnet-base is not installed")
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "packaging" / "tools" / "make_wordnet_resource.py"
    spec = importlib.util.spec_from_file_location("make_wordnet_resource", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "wn.json"
    assert module.main(["--out", str(out)]) == 0
    from photosim.core.wordnet import resource_path

    assert out.read_bytes() == resource_path().read_bytes()


# -- labels of known photos -------------------------------------------------------------------
def test_known_photos_get_labels_a_person_would_recognise(labelled: Library) -> None:
    tx = load_taxonomy()
    cat = photo_info(labelled, _id(labelled, "chelsea.jpg"))
    assert cat is not None and cat.analysed
    assert tx.class_names.index(cat.tags[0].name) in tx.classes_for("cat")
    assert {"cat", "animal", "mammal"} <= set(cat.tags[0].broader)
    assert cat.tags[0].probability > 0.5
    coffee = photo_info(labelled, _id(labelled, "coffee.jpg"))
    assert coffee is not None and coffee.tags[0].name == "espresso" and {"beverage", "food"} <= set(coffee.tags[0].broader)
    rocket = photo_info(labelled, _id(labelled, "rocket.jpg"))
    assert rocket is not None
    assert {"missile", "projectile", "space shuttle", "drilling platform"} & {t.name for t in rocket.tags}
    assert "rocket.jpg" in _names(LabelIndex(labelled).search(["missile"]).hits)  # "missile" covers both classes
    probs = [t.probability for t in cat.tags]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)


def test_labels_are_stored_compactly_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(1000, 0.05)).astype(np.float32)
    blob = encode_labels(p)
    assert len(blob) <= 4 * TOP_K
    classes, probs = decode_labels(blob)
    assert classes.tolist() == np.argsort(-p)[: len(classes)].tolist()
    np.testing.assert_allclose(probs, p[classes], rtol=2e-3)
    assert tags_of(blob)[0].name == load_taxonomy().class_names[int(np.argmax(p))]


def test_photo_info_has_what_a_side_panel_shows(labelled: Library) -> None:
    info = photo_info(labelled, _id(labelled, "coffee-camera.jpg"))
    assert info is not None
    assert info.camera == "Canon EOS 80D"
    assert (info.width, info.height) == Image.open(info.path).size
    assert info.taken_at is not None and info.file_size == Path(info.path).stat().st_size
    assert info.folder == str(Path(info.path).parent) and info.tags
    assert photo_info(labelled, 10**9) is None
    assert camera_of(info.path) == "Canon EOS 80D" and camera_of(str(Path(info.path).with_name("chelsea.jpg"))) is None


# -- word search ------------------------------------------------------------------------------
def test_word_search_finds_known_photos_by_general_words(labelled: Library) -> None:
    words = LabelIndex(labelled)
    for query, expected in ((["cat"], "chelsea"), (["Cats"], "chelsea"), (["mammal"], "chelsea"), (["animal"], "chelsea"),
                            (["beverage"], "coffee"), (["food"], "coffee"), (["drink"], "coffee")):
        found = words.search(query, 10)
        assert found.hits and _names(found.hits)[0].startswith(expected), (query, _names(found.hits))
        assert found.message is None
        scores = [h.score for h in found.hits]
        assert scores == sorted(scores, reverse=True) and all(0 < s <= 1.0001 for s in scores)
    # The edited copy carries the same labels; photos that are no cat are not returned.
    assert set(_names(words.search(["cat"]).hits)) == {"chelsea.jpg", "chelsea-mirrored.jpg"}
    assert not {"chelsea.jpg", "chelsea-mirrored.jpg"} & set(_names(words.search(["beverage"]).hits))


def test_word_search_says_when_no_photo_is_labelled_like_that(labelled: Library) -> None:
    words = LabelIndex(labelled)
    nothing = words.search(["dog"])
    assert nothing.hits == [] and nothing.message == f"{NO_MATCH}: dog"
    unknown = words.search(["blorp"])
    assert unknown.hits == [] and unknown.unknown == ["blorp"] and "blorp" in (unknown.message or "")
    with_unknown = words.search(["dog", "blorp"])
    assert with_unknown.hits == [] and (with_unknown.message or "").startswith(f"{NO_MATCH}: dog; photosim knows no word 'blorp'")


def test_word_search_takes_words_as_people_type_them(labelled: Library) -> None:
    """Found trying the command line: "a fish in the water" and "birds and flowers" found nothing
    ("photosim knows no word 'a', 'in', 'the', 'water' (did you mean 'artefact'...?)"), and "red
    flower" nothing either, for a colour photosim has no label for."""
    words = LabelIndex(labelled)
    cats = _names(words.search(["cat"]).hits)
    plain = words.search(["the", "cats", "of", "the", "photos"])  # filler words are left out silently
    assert _names(plain.hits) == cats and plain.unknown == [] and plain.note is None and plain.message is None
    coloured = words.search(["red", "cat"])  # a word photosim does not know: the cats, and a note
    assert _names(coloured.hits) == cats and coloured.message is None
    assert coloured.unknown == ["red"] and coloured.note is not None
    assert coloured.note == "left out 'red': photosim finds what photos show, not colours or looks"
    assert coloured.suggestions == []  # not 'bed' or 'torpedo', the spellings 'red' resembles
    both = words.search(["a", "cute", "blorp", "cat"])
    assert _names(both.hits) == cats and both.note == ("left out 'cute': photosim finds what photos show, not "
                                                       "colours or looks; left out 'blorp', a word photosim does not know "
                                                       "(did you mean 'flora'?)")
    assert word_results(coloured).header().startswith(f"{len(cats)} photo")
    assert "left out 'red'" in word_results(coloured).header()
    only_unknown = words.search(["blorp", "the"])
    assert only_unknown.hits == [] and (only_unknown.message or "").startswith(f"{NO_MATCH}: photosim knows no word 'blorp'")


def test_word_search_takes_or_and_finds_either_word_when_no_photo_has_both(labelled: Library) -> None:
    """Found trying the app: "fish or bird" found nothing ("no photo is labelled like that: fish
    bird"): 'or' was a filler word, and every word had to match, so did "cat dog" (a photo is
    rarely labelled both) and "fish, bird" ('fish,' was no word)."""
    words = LabelIndex(labelled)
    cats, drinks = set(_names(words.search(["cat"]).hits)), set(_names(words.search(["beverage"]).hits))
    assert cats and drinks and not cats & drinks
    either = words.search(["cat or beverage"])
    assert set(_names(either.hits)) == cats | drinks and either.note is None and either.message is None
    assert either.described == "cat or beverage" and word_results(either).header().endswith("labelled cat or beverage")
    assert set(_names(words.search(["beverage", "OR", "cat"]).hits)) == cats | drinks
    scores = [h.score for h in either.hits]
    assert scores == sorted(scores, reverse=True)
    both = words.search(["cat beverage"])  # no photo is both: those with one of the words, said so
    assert set(_names(both.hits)) == cats | drinks and both.either
    assert both.note == "no photo is labelled 'cat' and 'beverage' together; these are labelled with one of them"
    assert set(_names(words.search(["cat, beverage"]).hits)) == cats | drinks
    together = words.search(["cat and animal"])  # photos that carry every word come first, alone
    assert set(_names(together.hits)) == cats and not together.either and together.note is None
    nothing = words.search(["dog or horse"])
    assert nothing.hits == [] and nothing.message == f"{NO_MATCH}: dog or horse"
    # narrowed ("only ..."): the alternatives are chosen first, so no photo is both rather than either
    assert set(_names(words.search(["cat or beverage"], only="animal").hits)) == cats
    narrowed = words.search(["cat"], only="beverage")
    assert narrowed.hits == [] and narrowed.message == f"{NO_MATCH}: cat, only beverage"
    with pytest.raises(ValueError, match="knows no word 'blorp'"):
        words.search(["cat"], only="blorp")


def test_everyday_words_find_the_classes_that_show_them(labelled: Library) -> None:
    """Found trying the app: "beach", the search box's own example, was "a word photosim does not
    know" (ImageNet's class is "seashore"), as were "cow", "kitten", "kitchen" and "book"."""
    from photosim.core.wordnet import EVERYDAY_WORDS

    taxonomy = load_taxonomy()
    assert set(taxonomy.everyday) == set(EVERYDAY_WORDS)  # every word's targets were found
    for word, targets in EVERYDAY_WORDS.items():
        for target in targets:
            assert target in taxonomy.class_names or taxonomy.is_known(target), (word, target)
    assert [taxonomy.class_names[c] for c in taxonomy.classes_for("beaches")] == ["sandbar", "seashore"]
    assert "beach" in taxonomy.words_of_class(taxonomy.class_names.index("seashore"))
    # a WordNet word keeps its own classes and gains the targets ("flower": daisies and vases)
    assert {"daisy", "yellow lady's slipper", "vase", "pot"} == {taxonomy.class_names[c]
                                                                 for c in taxonomy.classes_for("flowers")}
    words = LabelIndex(labelled)
    cats = _names(words.search(["domestic cat"]).hits)
    assert cats and _names(words.search(["kittens"]).hits) == cats
    assert ("kitten", len(cats)) in words.complete("kit")  # completed and counted like any word
    assert words.search(["beach"]).message == f"{NO_MATCH}: beach"  # known: no photo here shows one


def test_completion_offers_known_words_by_how_many_photos_carry_them(labelled: Library) -> None:
    words = LabelIndex(labelled)
    found = dict(words.complete("ca", 50))
    assert found["cat"] == 2  # the cat and its mirrored copy
    counts = [n for _, n in words.complete("ca", 50)]
    assert counts == sorted(counts, reverse=True) and all(n > 0 for n in counts)
    assert "dog" not in dict(words.complete("do", 50))  # no photo carries it
    assert ("dog", 0) in words.complete("dog", 50, include_empty=True)
    assert words.complete("zzzz") == [] and words.complete("") == []
    assert "espresso" in dict(words.complete("espr"))


def test_results_are_narrowed_by_a_word(labelled: Library, tmp_path: Path) -> None:
    words = LabelIndex(labelled)
    results = Searcher(labelled).search_photo(_id(labelled, "coffee.jpg"), k=9)
    only_cats = words.narrow(results, "cat")
    assert _names(only_cats) and set(_names(only_cats)) <= {"chelsea.jpg", "chelsea-mirrored.jpg"}
    assert [r.photo_id for r in only_cats] == [r.photo_id for r in results if r in only_cats]  # order kept
    with pytest.raises(ValueError, match=NO_MATCH):
        words.narrow(results, "blorp")
    assert words.narrow(results, "a cat") == only_cats  # typed as people type it
    assert words.narrow(results, "cats and animals") == only_cats  # every known word must be carried
    assert words.narrow(results, "cat beverage") == []
    drinks = words.narrow(results, "beverage")
    assert drinks and set(_names(words.narrow(results, "cats or a beverage"))) == set(_names(only_cats + drinks))
    with pytest.raises(ValueError, match=r"not colours or looks \('red'\)"):
        words.narrow(results, "red cat")
    with pytest.raises(ValueError, match="knows no word 'blorp'"):
        words.narrow(results, "blorp cat")
    found = Searcher(labelled).results_for_photo(_id(labelled, "coffee.jpg"), k=9)
    assert found.look_alikes  # a labelled library: the similar photos are look-alikes
    assert set(_names(words.narrow(found.results, "cat"))) == {"chelsea.jpg", "chelsea-mirrored.jpg"}


def test_a_narrowed_list_keeps_saying_which_results_are_near_copies() -> None:
    """"Similar to this photo, only birds" showed "0.69" before "0.87" with no word: the narrowed list
    lost which results were near copies (copy cosines) and which look-alikes (look-alike cosines)."""
    from photosim.core.matching import Background
    from photosim.core.results import Result, ResultSet
    from photosim.core.service import narrowed

    rows = [Result(1, "/p/copy.jpg", 0.97, "same"), Result(2, "/p/near-a.jpg", 0.69, "similar"),
            Result(3, "/p/near-b.jpg", 0.53, "similar"), Result(4, "/p/alike-a.jpg", 0.87, "similar"),
            Result(5, "/p/alike-b.jpg", 0.86, "similar")]
    alike_background = Background(level=0.9, center=0.5, spread=0.1)
    found = ResultSet(rows, 5, 1, "", None, look_alikes=True, alike_background=alike_background,
                      threshold=0.8, near=2)
    kept = narrowed(found, [rows[0], rows[1], rows[3], rows[4]], k=10)
    assert (kept.same, kept.near, kept.cutoff, kept.look_alikes) == (1, 1, 4, True)
    assert kept.alike_background == alike_background and kept.threshold == 0.8
    only_alike = narrowed(found, [rows[4]], k=10)
    assert (only_alike.same, only_alike.near, only_alike.look_alikes) == (0, 0, True)
    plain = narrowed(ResultSet(rows[:3], 3, 1), rows[1:3], k=10)
    assert (plain.near, plain.look_alikes) == (0, False)


# -- look-alikes ------------------------------------------------------------------------------
def test_similar_lists_the_same_photo_first_then_look_alikes(labelled: Library) -> None:
    """One list: the copy (decided by the same-photo test, not a fixed cosine), then look-alikes ranked
    by the look-alike descriptor, whose scores are look-alike cosines."""
    searcher = Searcher(labelled)
    found = searcher.results_for_photo(_id(labelled, "chelsea.jpg"), k=4)
    assert [(Path(r.path).name, r.match) for r in found.results[:1]] == [("chelsea-mirrored.jpg", "same")]
    assert found.same == 1 and len(found.results) == 4 and found.look_alikes
    assert "chelsea.jpg" not in _names(found.results)
    semantic = SemanticIndex.of(labelled)
    query = semantic.vector_of(_id(labelled, "chelsea.jpg"))
    for r in found.results[1:]:
        assert r.match == "similar" and abs(r.score - float(query @ semantic.vector_of(r.photo_id))) < 1e-2
    assert [r.score for r in found.results[1:]] == sorted((r.score for r in found.results[1:]), reverse=True)
    coffee = searcher.results_for_file(labelled.catalog.get(_id(labelled, "coffee.jpg")).path, k=3)
    assert [Path(r.path).name for r in coffee.results if r.match == "same"] == ["coffee-camera.jpg"]


def test_look_alike_vectors_put_kinds_together() -> None:
    """A tabby is nearer a Siamese than a goldfish; a goose nearer a heron than a tabby."""
    tx = load_taxonomy()

    def photo(*names: str) -> tuple[np.ndarray, np.ndarray]:
        classes = np.zeros((1, TOP_K), dtype=np.int16)
        probs = np.zeros((1, TOP_K), dtype=np.float32)
        for i, name in enumerate(names):
            classes[0, i] = tx.class_names.index(name)
            probs[0, i] = 1 / len(names)
        return classes, probs

    v = {n: semantic_vectors(*photo(n))[0] for n in ("tabby", "Siamese cat", "goldfish", "goose", "little blue heron", "pizza")}
    assert all(abs(np.linalg.norm(x) - 1) < 1e-5 for x in v.values())
    assert v["tabby"] @ v["Siamese cat"] > v["tabby"] @ v["goldfish"] + 0.2  # 0.94 against 0.63
    assert v["goose"] @ v["little blue heron"] > v["goose"] @ v["tabby"] + 0.1  # 0.81 against 0.63
    assert v["tabby"] @ v["goldfish"] > v["tabby"] @ v["pizza"] + 0.2  # animals against food: 0.63, 0.26


def test_the_look_alike_index_is_saved_and_reopened_without_rebuilding(labelled: Library) -> None:
    index = SemanticIndex.of(labelled)
    assert len(index) == len(SMALL_SET) + 2
    index.save()
    assert index.path.exists()
    with Library(labelled.data_dir, writable=False, embedder=labelled.embedder) as reader:
        again = SemanticIndex.of(reader)
        assert again._open().keys().size == len(SMALL_SET) + 2  # loaded from the file, checksum verified


# -- old libraries: migration and backfill ----------------------------------------------------
def test_a_catalog_of_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    db = sqlite3.connect(path)
    before = MIGRATIONS.index(_migration_labels)
    for migration in MIGRATIONS[:before]:  # the schema before labels existed
        migration(db)
    db.execute(f"PRAGMA user_version = {before}")
    db.execute("INSERT INTO folders(path, added_at) VALUES (CAST('/p' AS BLOB), 0)")  # paths are bytes by then
    db.execute("INSERT INTO photos(path, folder_id, size, mtime_ns, fingerprint, state, model, embedding, updated_at) "
               "VALUES (CAST('/p/a.jpg' AS BLOB), 1, 10, 1, 'f', 'indexed', 'm', ?, 0)", (encode_vector(np.ones(4)),))
    db.commit()
    db.close()
    cat = Catalog(path)
    assert cat.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.get_by_path("/p/a.jpg") is not None and cat.count_missing_labels("x") == 1
    with cat.transaction():
        cat.set_labels(1, "x", encode_labels(np.eye(1000)[7]), "Cam")
    assert cat.count_missing_labels("x") == 0 and cat.labels_of(1)[0] == "x"
    cat.delete([1])  # a photo's labels go with it
    assert cat.labels_of(1) is None
    cat.close()


def test_backfill_labels_an_old_library_resumably(tmp_path: Path, photo_dir: Path, embedder) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    with Library(data, embedder=embedder) as lib:
        lib.catalog.add_folder(str(photo_dir))
        Indexer(lib, workers=1).run()
        # Make it a library from before labels, as the migration leaves one: every photo without labels.
        lib.catalog.db.execute("DELETE FROM photo_labels")
        embeddings = dict(lib.catalog.db.execute("SELECT id, embedding FROM photos").fetchall())
        index_bytes = lib.index_path.read_bytes()
    with Library(data, embedder=embedder) as lib:
        model = labels_model_for(lib.model_id)
        backfill = LabelBackfill(lib, batch_size=3)
        assert backfill.pending() == len(SMALL_SET)
        assert LabelIndex(lib).search(["cat"]).hits == []  # nothing labelled yet
        control = RunControl()
        first = backfill.run(control, on_progress=lambda p: control.cancel())  # stopped after one batch
        assert first.cancelled and first.labelled == 3 and backfill.pending() == len(SMALL_SET) - 3
        rest = backfill.run()
        assert rest.labelled == len(SMALL_SET) - 3 and backfill.pending() == 0 and not rest.unsupported
        assert backfill.run().labelled == 0  # nothing left: one query
        assert _names(LabelIndex(lib).search(["cat"]).hits) == ["chelsea.jpg"]
        assert lib.catalog.count_missing_labels(model) == 0
        # The copy vectors were not touched.
        assert dict(lib.catalog.db.execute("SELECT id, embedding FROM photos").fetchall()) == embeddings
        assert lib.index_path.read_bytes() == index_bytes
