"""Recovery of a damaged index: fall back to the last good generation, and rebuild re-adds the kept uploads."""

from __future__ import annotations

import json

import pytest

from engine.errors import IndexStateError
from engine.index import index_paths, index_uploads, open_index, restore_stored_uploads
from test_index import HashEmbedder, corpus_dir, note  # noqa: F401 - corpus_dir is a fixture


def _upload(index, settings, name: str, title: str, owner: str) -> str:
    text = note(title, f"{title} is a private finding about sparse attention.")
    report = index_uploads(index, [(name, text.encode())], settings, owner=owner)
    assert report.documents, report.outcomes
    return report.documents[0].document.doc_id


def _live(settings) -> str:
    return (settings.index_dir / "CURRENT").read_text().strip()


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def three_generations(settings, corpus_dir):
    """Bundled-like notes (gen 1), ana's upload (gen 2), ben's upload (gen 3)."""
    index = open_index(settings, HashEmbedder())
    index_paths(index, [corpus_dir], settings)
    ana = _upload(index, settings, "ana-notes.md", "Ana Private Result", "ana")
    ben = _upload(index, settings, "ben-notes.md", "Ben Private Result", "ben")
    assert _live(settings) == "gen-000003"
    return ana, ben


def test_a_truncated_live_generation_falls_back_to_the_previous_one_and_says_so(settings, three_generations):
    ana, ben = three_generations
    _truncate(settings.index_dir / "gen-000003" / "store.json")

    index = open_index(settings, HashEmbedder())
    assert ana in index.documents and ben not in index.documents and len(index.documents) == 4
    assert "gen-000003" in index.recovered and "peerdraft index --rebuild" in index.recovered
    assert _live(settings) == "gen-000002"
    assert [p.name for p in settings.index_dir.iterdir() if p.name.startswith("broken-gen-000003")]

    # The next change writes a new generation and keeps the good one it started from as its fallback.
    _upload(index, settings, "more.md", "Another Result", "ana")
    assert _live(settings) == "gen-000004" and (settings.index_dir / "gen-000002").is_dir()
    assert open_index(settings, HashEmbedder()).recovered == ""


def test_a_current_pointer_to_a_missing_generation_falls_back_too(settings, three_generations):
    import shutil

    ana, _ = three_generations
    shutil.rmtree(settings.index_dir / "gen-000003")
    index = open_index(settings, HashEmbedder())
    assert ana in index.documents and _live(settings) == "gen-000002" and index.recovered


def test_the_lost_upload_comes_back_from_its_kept_copy_for_its_owner(settings, three_generations):
    ana, ben = three_generations
    _truncate(settings.index_dir / "gen-000003" / "index.faiss")
    index = open_index(settings, HashEmbedder())
    assert ben not in index.documents

    report = restore_stored_uploads(index, settings)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert index.documents[ben].document.owner == "ben"
    assert open_index(settings, HashEmbedder()).documents[ben].document.title == "Ben Private Result"


def test_store_json_of_the_wrong_shape_is_a_damaged_index_not_a_type_error(settings, corpus_dir):
    index = open_index(settings, HashEmbedder())
    index_paths(index, [corpus_dir], settings)  # a single generation: nothing to fall back to
    (settings.index_dir / _live(settings) / "store.json").write_text(json.dumps({"documents": 5, "chunks": "x"}))
    with pytest.raises(IndexStateError, match="damaged") as caught:
        open_index(settings, HashEmbedder())
    assert "peerdraft index --rebuild" in str(caught.value) and "stored upload" in str(caught.value)


def test_removing_a_document_deletes_its_kept_upload(settings, three_generations):
    ana, _ = three_generations
    assert (settings.uploads_dir / ana / "original").is_file()
    open_index(settings, HashEmbedder()).remove_document(ana)
    assert not (settings.uploads_dir / ana).exists()


@pytest.mark.model
def test_cli_rebuild_after_every_generation_is_damaged_re_adds_the_bundled_notes_and_every_upload(
        data_dir, capsys):
    from engine.cli import main
    from engine.embed import load_embedder
    from engine.settings import load_settings

    settings = load_settings()
    assert main(["index"]) == 0  # the bundled notes
    index = open_index(settings, load_embedder(settings))
    ana = _upload(index, settings, "ana-notes.md", "Ana Private Result", "ana")
    bundled = len(index.documents) - 1
    for generation in settings.index_dir.glob("gen-*"):
        _truncate(generation / "store.json")
    capsys.readouterr()

    assert main(["index", "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "ana-notes.md" in out and "(a stored upload)" in out
    rebuilt = open_index(settings, load_embedder(settings))
    assert len(rebuilt.documents) == bundled + 1 and rebuilt.documents[ana].document.owner == "ana"


def test_the_corpus_page_says_it_fell_back_and_keeps_working(page_data_dir, session_settings, default_index,
                                                              embedder):
    import shutil

    from streamlit.testing.v1 import AppTest

    from engine.settings import load_settings

    shutil.copytree(session_settings.index_dir, page_data_dir / "index")
    settings = load_settings()
    index = open_index(settings, embedder)
    _upload(index, settings, "late.md", "A Late Upload", "")
    _truncate(settings.index_dir / _live(settings) / "store.json")

    at = AppTest.from_file("../pages/corpus.py", default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("damaged" in w.value and "peerdraft index --rebuild" in w.value for w in at.warning)
    assert at.dataframe[0].value.shape[0] == len(default_index.documents)


def test_the_index_pointer_is_read_and_switched_through_one_helper(tmp_path):
    from engine.index import current_generation, has_index, point_to

    assert current_generation(tmp_path) is None and not has_index(tmp_path)
    point_to(tmp_path, "gen-000003")
    assert current_generation(tmp_path) == "gen-000003" and has_index(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]  # no temporary file left behind
