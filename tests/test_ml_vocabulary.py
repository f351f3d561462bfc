"""scripts/build_ml_vocabulary.py builds the reader model's table from real Markdown, and the shipped table loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_builder_keeps_words_ml_writing_uses_more_than_english(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(8):
        (docs / f"d{n}.md").write_text(
            f"# Chapter {n}\n\nThe softmax turns logits into probabilities, and backpropagation trains the encoder.\n"
            "The softmax is applied again after the encoder.\n\n```python\nimport zzzcodeword\n```\n", encoding="utf-8")
    out = tmp_path / "vocab.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_ml_vocabulary.py"), str(docs), "--out", str(out),
                    "--source", "test fixture"], check=True, capture_output=True)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert table["documents"] == 8 and table["sources"] == ["test fixture"]
    assert "softmax" in table["terms"] and "encoder" in table["terms"]
    assert "the" not in table["terms"] and "zzzcodeword" not in table["terms"]  # everyday words; code is not prose


def test_the_shipped_table_names_its_sources_and_knows_the_field():
    from engine.check.reader import ML_PEERS, NEW_TO_ML, VOCABULARY

    table = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    assert table["tokens"] > 1_000_000 and len(table["sources"]) >= 5
    assert ML_PEERS.knows("softmax") and ML_PEERS.knows("backpropagation")
    assert not NEW_TO_ML.knows("backpropagation")


def test_the_builder_reads_an_installed_packages_docstrings_without_importing_it(tmp_path):
    package = tmp_path / "fakeml"
    for n in range(5):
        folder = package / f"models{n}"
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("", encoding="utf-8")
        # Importing this module would fail: the builder must read it with ast, not import it.
        (folder / "modeling.py").write_text(
            "import does_not_exist_anywhere\n\n"
            "class Encoder:\n"
            f'    """The encoder {n} applies dropout and a softmax over the logits of each attention head.\n\n'
            "    Args:\n"
            "        zzzparamword (`torch.Tensor` of shape `(batch, seq)`):\n"
            "            Dropout on the softmax logits.\n\n"
            "    Returns:\n"
            "        zzzparamword (`int`): the number of heads.\n\n"
            "    Example:\n\n"
            "        >>> zzzdoctestword = Encoder()\n"
            "        >>> zzzdoctestword.forward()\n"
            '    """\n\n'
            "def shared():\n"
            '    """This docstring is copied word for word into every model folder, zzzcopiedword zzzcopiedword."""\n',
            encoding="utf-8")
    (package / "__init__.py").write_text('"""Logits, with dropout."""\n', encoding="utf-8")
    out = tmp_path / "vocab.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_ml_vocabulary.py"), str(package), "--out", str(out),
                    "--source", "fixture package"], check=True, capture_output=True)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert table["documents"] == 5  # one per folder holding docstrings; the top folder's one docstring is too short
    assert "softmax" in table["terms"] and "logit" in table["terms"]  # keys fold plurals
    assert "zzzparamword" not in table["terms"] and "zzzdoctestword" not in table["terms"]  # parameter line, doctest
    assert "zzzcopiedword" not in table["terms"]  # a copied docstring counts once: one document is too few


def test_a_docstrings_parameter_lines_and_code_are_not_prose():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_ml_vocabulary import docstring_prose

    prose = docstring_prose("Mean pooling over tokens.\n\nParameters\n----------\nX : array-like of shape "
                            "(n_samples, n_features)\n    The input.\n\nUse ``fit_transform`` or "
                            ":func:`torch.nn.functional.softmax` like this::\n\n    model.fit(X)\n\nDone.")
    assert "Mean pooling over tokens." in prose and "Done." in prose and "The input." in prose
    assert "n_samples" not in prose and "fit_transform" not in prose and "model.fit" not in prose
    assert "softmax" not in prose and "----" not in prose


def test_the_builder_adds_a_glossarys_term_keys_to_an_existing_table(tmp_path):
    docs, glossary = tmp_path / "docs", tmp_path / "glossary"
    docs.mkdir()
    glossary.mkdir()
    for n in range(8):
        (docs / f"d{n}.md").write_text("The softmax turns logits into probabilities.\n", encoding="utf-8")
    (glossary / "g.rst").write_text(
        ".. _glossary:\n\nGlossary\n========\n\nLabel smoothing\n  Trains against soft targets, see :ref:`loss <x>`.\n"
        "\n.. image:: zzzimage.png\n", encoding="utf-8")
    out = tmp_path / "vocab.json"
    script = str(ROOT / "scripts" / "build_ml_vocabulary.py")
    subprocess.run([sys.executable, script, str(docs), "--out", str(out)], check=True, capture_output=True)
    subprocess.run([sys.executable, script, "--glossary", str(glossary), "--glossary-source", "test glossary",
                    "--out", str(out)], check=True, capture_output=True)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert "softmax" in table["terms"] and table["glossary"]["sources"] == ["test glossary"]
    keys = set(table["glossary"]["keys"])
    assert {"label smoothing", "soft target"} <= keys
    assert "zzzimage" not in keys and "the" not in keys  # directives are not prose; common words are not stored


def test_the_shipped_glossary_knows_basics_but_not_one_papers_coinage():
    from engine.check.reader import glossary_keys

    assert {"label smoothing", "rmsprop", "mse", "kullback leibler"} <= glossary_keys()
    assert not {"qlora", "wordpiece", "swiglu", "brevity penalty", "shingle"} & glossary_keys()


def test_the_builder_counts_publishers_and_keeps_a_phrase_many_of_them_use(tmp_path):
    # "representation learning" is two everyday words: ML writing uses the pair about as often as English's
    # estimate for it, so only its spread over independent publishers keeps it in the table.
    paths = []
    for publisher in ("alpha", "beta", "gamma", "delta"):
        for part in ("one", "two"):
            folder = tmp_path / f"{publisher}-{part}"
            folder.mkdir()
            for n in range(2):
                (folder / f"d{n}.md").write_text(
                    "Representation learning finds features. We study representation learning here.\n"
                    f"The zzzhouseword appears in {publisher} only.\n", encoding="utf-8")
            paths.append(f"{publisher}={folder}")
    out = tmp_path / "vocab.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_ml_vocabulary.py"), *paths, "--out", str(out),
                    "--source", "fixture"], check=True, capture_output=True)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert table["publishers"] == ["alpha", "beta", "delta", "gamma"]  # two folders each, counted once per publisher
    assert table["terms"]["representation learning"][2] == 4
    assert table["terms"]["zzzhouseword"][2] == 4  # every publisher's pages use it
    assert table["documents"] == 16


def test_a_term_many_publishers_use_is_known_and_one_publishers_term_is_not():
    from engine.check.reader import ML_PEERS, ml_vocabulary

    vocabulary = ml_vocabulary()
    # Field basics that few documents but many independent authors use (AlexNet, t-SNE) ...
    for key, name in (("alexnet", True), ("t sne", True), ("representation learning", False)):
        assert vocabulary[key][2] >= ML_PEERS.publisher_spread and ML_PEERS.knows(key, name=name)
    # ... while internals that one or a few publishers' pages repeat stay to be defined (policy in reader.py).
    for key, name in (("wordpiece", True), ("qlora", True), ("swiglu", True), ("paged attention", False)):
        assert vocabulary[key][2] < ML_PEERS.publisher_spread and not ML_PEERS.knows(key, name=name)
    # A name spelled as an English word is counted with the word's everyday uses: its spread says nothing.
    assert vocabulary["realm"][2] >= ML_PEERS.publisher_spread and not ML_PEERS.knows("realm", name=True)


def test_the_abstract_counts_are_document_frequencies_with_names_apart(tmp_path):
    rows = [{"title": f"Paper {n}", "abstract": "We train a SPADE model with $\\alpha$ decay. A spade made the KV cache smaller."}
            for n in range(6)] + [{"title": "Other", "abstract": "Results dig with a spade; the KV caches are reused."}] * 5
    source = tmp_path / "abstracts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "abstracts.json.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_ml_vocabulary.py"), "--abstracts", str(source),
                    "--out", str(out), "--source", "test fixture"], check=True, capture_output=True)
    import gzip

    table = json.loads(gzip.decompress(out.read_bytes()))
    assert table["documents"] == 11 and table["sources"] == ["test fixture"]
    assert table["terms"]["spade"] == 11 and table["names"]["spade"] == 6  # SPADE the model is written in capitals
    assert table["terms"]["kv cache"] == 11  # a phrase counted once per abstract, plural folded
    assert "alpha" not in table["terms"]  # LaTeX is not prose
    assert "paper 0" not in table["terms"]  # fewer than the phrase minimum: rare, left out


def test_the_shipped_abstract_counts_tell_the_fields_acronyms_from_a_subfields():
    from engine.check.reader import abstract_documents, abstracts_total

    assert abstracts_total() > 90_000
    assert abstract_documents("cifar 100", name=True) > 100 and abstract_documents("bm25", name=True) > 100
    assert abstract_documents("pbt", name=True) < 10 and abstract_documents("awac", name=True) == 0
