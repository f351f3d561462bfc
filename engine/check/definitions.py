"""Insert a corpus definition into a draft with its [n] citation, keeping the References list in step.

The jargon check (engine/check/jargon.py) finds a definitional sentence in the corpus for an
undefined term; this module puts it after the term's first use and cites where it came from:
the document's existing number when the References list already has it, else the next free
number with a new entry (the list is created when the draft has none). Existing numbers are
never changed, so the writer's other citations stay as they are.
"""

from __future__ import annotations

from engine.check.jargon import Suggestion, TermResult, insert_definition
from engine.export import Reference, format_reference, split_references, to_markdown
from engine.records import Document


def reference_number(references: list[Reference], document: Document) -> int | None:
    """The number under which `references` already list `document` (by doc id, else by title), or None."""
    title = document.title.strip().rstrip(".").lower()
    for reference in references:
        if reference.document is not None and reference.document.doc_id == document.doc_id:
            return reference.number
        if title and title in reference.text.lower():
            return reference.number
    return None


def insert_cited_definition(markdown: str, term: TermResult, suggestion: Suggestion,
                            document: Document | None = None) -> str:
    """The draft with the suggested definition after the term's first use, cited as [n] from the References list.

    `document` is the suggestion's source with its metadata (from the index); without it the
    new reference names only the title the suggestion carries.
    """
    document = document or Document(doc_id=suggestion.doc_id, title=suggestion.title)
    _, references = split_references(markdown)
    number = reference_number(references, document)
    if number is not None:
        return insert_definition(markdown, term, suggestion, citation=f"[{number}]")
    number = max((r.number for r in references), default=0) + 1
    inserted = insert_definition(markdown, term, suggestion, citation=f"[{number}]")
    body, references = split_references(inserted)
    # format_reference writes "Anon.." for a document without authors: such an entry names just the title.
    entry = format_reference(document) if document.authors else f"{document.title.strip().rstrip('.')}."
    return to_markdown(body, [*references, Reference(number, entry, document)])


def model_definition(llm, term: str, *, audience: str = "ML/AI engineers and researchers") -> str | None:
    """One sentence defining `term` from the language model's own knowledge (unverified), or None when it declines."""
    import re

    from engine import prompts
    from engine.llm import GenerationParams, Message, generate

    name = " ".join(term.split())[:80]  # a term, not a place for instructions
    messages = [Message("system", prompts.DEFINE_TERM_SYSTEM.format(audience=audience)),
                Message("user", prompts.DEFINE_TERM.format(term=name))]
    text = " ".join(generate(llm, messages, GenerationParams(max_new_tokens=60, temperature=0.0)).text.split())
    sentence = re.match(r".+?[.!?](?=\s|$)", text)
    sentence = sentence.group(0) if sentence else text
    if not sentence or "don't know" in sentence.lower() or "do not know" in sentence.lower():
        return None
    return sentence
