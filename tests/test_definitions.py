"""Inserting a corpus definition with its [n] citation (engine/check/definitions.py)."""

from __future__ import annotations

from engine.check.definitions import insert_cited_definition, model_definition
from engine.check.jargon import check_jargon
from engine.records import Document, Passage

GPTQ = Document(doc_id="gptq-1", title="GPTQ: Accurate Post-Training Quantization", authors=("Elias Frantar",),
                year=2023)
DEFINITION = "GPTQ is a post-training method that rounds one layer at a time."


def search(query: str) -> list[Passage]:
    return [Passage("gptq-1:3", "gptq-1", f"Quantisation matters. {DEFINITION}", 0.8, GPTQ.title, page=2)]


def gptq_term(draft: str):
    return next(t for t in check_jargon(draft, search=search).terms if t.term == "GPTQ")


def test_a_document_already_in_the_references_keeps_its_number():
    draft = ("# Setup\n\nWe quantise with GPTQ before serving [2]. The server runs on one card [1].\n\n"
             "## References\n\n[1] Someone (2020). Serving.  \n"
             "[2] Elias Frantar (2023). GPTQ: Accurate Post-Training Quantization.  \n")
    term = gptq_term(draft)
    updated = insert_cited_definition(draft, term, term.suggestion, GPTQ)
    assert f"before serving [2]. {DEFINITION[:-1]} [2]. The server" in updated
    assert updated.split("## References")[1] == draft.split("## References")[1]


def test_a_new_source_gets_the_next_number_and_a_reference_entry():
    draft = ("# Setup\n\nThe server runs on one card [1]. We quantise with GPTQ before serving.\n\n"
             "## References\n\n[1] Someone (2020). Serving.\n")
    term = gptq_term(draft)
    updated = insert_cited_definition(draft, term, term.suggestion, GPTQ)
    assert f"before serving. {DEFINITION[:-1]} [2].\n" in updated
    references = updated.split("## References")[1]
    assert "[1] Someone (2020). Serving." in references
    assert "[2] Elias Frantar (2023). GPTQ: Accurate Post-Training Quantization." in references
    assert next(t for t in check_jargon(updated).terms if t.term == "GPTQ").status == "defined"


def test_a_draft_without_references_gets_a_list_with_the_source():
    draft = "# Setup\n\nWe quantise with GPTQ before serving. The server runs on one card.\n"
    term = gptq_term(draft)
    updated = insert_cited_definition(draft, term, term.suggestion)  # no metadata: the title the passage carried
    assert updated.startswith(f"# Setup\n\nWe quantise with GPTQ before serving. {DEFINITION[:-1]} [1]. The server")
    assert updated.rstrip().endswith("## References\n\n[1] GPTQ: Accurate Post-Training Quantization.")


def test_the_model_definition_is_its_first_sentence_and_a_refusal_is_none():
    from fakes_drafting import ScriptedLLM

    llm = ScriptedLLM("GPTQ is a one-shot weight quantisation method. It was published in 2023. Extra words")
    assert model_definition(llm, "GPTQ") == "GPTQ is a one-shot weight quantisation method."
    assert '"GPTQ"' in llm.prompts[0][1].content and "ML/AI engineers" in llm.prompts[0][0].content
    assert model_definition(ScriptedLLM("I don't know."), "Zorblax") is None
