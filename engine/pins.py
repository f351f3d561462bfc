"""Evidence pins of a stored article: the cards they come back as, and what a pin or drop writes to the store.

A pin (or a drop) belongs to a section by its `Section.id`, so it follows the section through renames and
moves. Cards are grouped the same way: `{section id: [EvidenceCard, ...]}`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from engine.evidence import EvidenceCard, make_cards
from engine.retrieve import passages_by_chunk_id


def stored_cards(store, user, article_id: int, index) -> dict[str, list[EvidenceCard]]:
    """The article's pinned and dropped cards by section id; passages no longer indexed, or that `user` may
    not read (a reviewer of a shared article and the owner's private uploads), are left out."""
    pins = store.list_pins(user, article_id)
    passages = passages_by_chunk_id(index, (p.chunk_id for p in pins), user=user)
    cards: dict[str, list[EvidenceCard]] = {}
    for pin in pins:
        if pin.chunk_id in passages:
            card = make_cards([passages[pin.chunk_id]])[0]
            cards.setdefault(pin.section_id, []).append(replace(card, pinned=not pin.dropped, dropped=pin.dropped))
    return cards


def save_pins(store, user, article_id: int, cards: Mapping[str, Sequence[EvidenceCard]]) -> None:
    """Store every pinned or dropped card of `cards` (by section id), e.g. when new work first becomes an article."""
    for section_id, section_cards in cards.items():
        for card in section_cards:
            if card.pinned or card.dropped:
                store.pin_evidence(user, article_id, card.chunk_id, card.passage.doc_id, section_id=section_id,
                                   dropped=card.dropped)


def save_card_state(store, user, article_id: int, section_id: str, card: EvidenceCard) -> None:
    """Store a card's new pin/drop state for its section: pinned or dropped is kept, neither removes the pin."""
    if card.pinned or card.dropped:
        store.pin_evidence(user, article_id, card.chunk_id, card.passage.doc_id, section_id=section_id,
                           dropped=card.dropped)
    else:
        store.unpin_evidence(user, article_id, card.chunk_id, section_id=section_id)
