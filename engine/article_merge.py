"""Carry a writer's edits into a newly assembled article.

The Write page rebuilds the article from the outline and the drafted sections whenever a section is
drafted or revised. The writer may meanwhile have edited other sections by hand. `merge_edits` keeps
those edits: a section the new assembly left unchanged keeps the writer's text (its `[n]` citations
renumbered to the new reference list); a section the assembly changed takes the new text; sections the
writer added stay after the section they followed; sections the writer deleted stay deleted unless they
were just drafted; a heading renamed in the outline keeps the writer's text under its new name. The
reference list always comes from the new assembly.
"""

from __future__ import annotations

import re

from engine.export import Reference, split_references
from engine.markup import REFERENCE_HEADING_LINE, renumber_citations

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _blocks(body: str) -> list[tuple[str, str]]:
    """(heading line, block text) in order; text before the first heading has the key ''."""
    blocks: list[tuple[str, list[str]]] = [("", [])]
    fence = None
    for line in body.splitlines():
        opener = _FENCE.match(line)
        if opener and (fence is None or opener.group(1)[0] == fence):
            fence = None if fence else opener.group(1)[0]
        if fence is None and not opener and _HEADING.match(line):
            blocks.append((line.strip(), [line]))
        else:
            blocks[-1][1].append(line)
    return [(key, "\n".join(lines).strip()) for key, lines in blocks if key or "\n".join(lines).strip()]


def _number_map(old: list[Reference], new: list[Reference]) -> dict[int, int]:
    """Old citation number → new one, matching reference lines by their text."""
    by_text = {ref.text.strip(): ref.number for ref in new}
    return {ref.number: by_text[ref.text.strip()] for ref in old if ref.text.strip() in by_text}


def _renumber(text: str, numbers: dict[int, int]) -> str:
    """The renumbering the assembly uses (`engine.markup`), so kept text and new text number alike."""
    return renumber_citations(text, numbers) if numbers else text


def merge_edits(previous: str, assembled: str, edited: str) -> str:
    """The new assembly with the writer's edits to untouched sections kept (see the module docstring)."""
    if edited.strip() == previous.strip():
        return assembled
    previous_body, previous_refs = split_references(previous)
    assembled_body, assembled_refs = split_references(assembled)
    edited_body, _ = split_references(edited)
    numbers = {n: m for n, m in _number_map(previous_refs, assembled_refs).items() if n != m}
    before_list, new, mine = _blocks(previous_body), _blocks(assembled_body), _blocks(edited_body)
    before, mine_by_key = dict(before_list), dict(mine)
    # A heading renamed in the outline: the same place in both assemblies, the old heading gone from the new
    # one. The writer's text of that section moves under the new heading.
    new_keys = {key for key, _ in new}
    if len(before_list) == len(new):
        for (old_key, old_text), (key, _) in zip(before_list, new):
            if key not in before and old_key not in new_keys and old_key in mine_by_key:
                before[key] = key + old_text[len(old_key):]
                mine_by_key[key] = key + mine_by_key.pop(old_key)[len(old_key):]
    merged: list[tuple[str, str]] = []
    for key, text in new:
        untouched = key in before and _renumber(before[key], numbers) == text  # same text, new numbers at most
        if untouched and key not in mine_by_key:
            continue  # the writer deleted it and the assembly did not redraft it
        merged.append((key, _renumber(mine_by_key[key], numbers) if untouched else text))
    known = new_keys | set(before) | {key for key, _ in before_list}
    for position, (key, text) in enumerate(mine):
        if key in known:
            continue  # a section the writer added: after the nearest earlier section still present
        anchor = next((k for k, _ in reversed(mine[:position]) if any(k == m for m, _ in merged)), None)
        at = next((i + 1 for i, (m, _) in enumerate(merged) if m == anchor), 0)
        merged.insert(at, (key, _renumber(text, numbers)))
    body = "\n\n".join(text for _, text in merged).strip() + "\n"
    heading = REFERENCE_HEADING_LINE.search(assembled)
    if not assembled_refs or heading is None:
        return body
    return body.rstrip() + "\n\n" + assembled[heading.start():].strip() + "\n"
