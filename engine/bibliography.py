"""A paper's own reference list, parsed: one entry per cited work (authors, title, year, venue), so a '[12]'
inside a paper can be traced to the work it means.

Hand-written because no maintained, permissively licensed, offline Python parser of printed reference strings
exists: refextract is GPLv2 and reads high-energy-physics journal references, refparse reads Web of Science /
Scopus export lines, anystyle is Ruby, GROBID and CERMINE are Java services (CERMINE AGPL). The parser reads
the author list name by name ('F. Surname', 'Given Surname', 'Surname, F.', 'Surname, Given') and stops at the
first thing that is not a name, so a title or venue is never taken for an author; a field it cannot find is
left empty rather than guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.markup import CITATION, citations_in

_LABEL = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})\.(?=\s+[A-Z]))\s*")
# natbib's author-year labels as printed: '[Bahdanau et al.2015]', '[Fraser and Marcu2007]'
_NATBIB_LABEL = re.compile(r"^\s*\[[^\]\d]{2,80}(?:19|20)\d{2}[a-z]?\]\s*")
# a year standing alone: not inside an arXiv id (':1901.08634'), a DOI, page range ('1929–1958') or volume
_YEAR = re.compile(r"(?<![\d.:/–\-])((?:19|20)\d{2})[a-z]?(?![\d–\-]|\.\d)")
_PAREN_YEAR = re.compile(r"\(((?:19|20)\d{2})[a-z]?\)")
_LEADING_YEAR = re.compile(r"^\(?((?:19|20)\d{2})[a-z]?\)?(?:[.,:]\s*|\s*$)")
_WORD = re.compile(r"[^\W\d_][\w’'\u0300-\u036f\-]*")
_PARTICLES = {"van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "dos", "la", "le", "ter", "ten"}
# an elided middle ('Reddi, S., ... & Hsieh, C. J.') is a separator: the names it stands for are unknown
_SEP = re.compile(r"\s*,\s*(?:(?:\.\.\.|…)\s*,?\s*)?(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*")
_ET_AL = re.compile(r"\s*,?\s*(?:et\s+al\.?|and\s+others\b|others\b)")
_VENUE_START = re.compile(r"^(?:In:?\s+(?=[A-Z\d])|Proc(?:eedings|\.)|Advances in|arXiv|CoRR|abs/|Journal of|Transactions on)")
_TITLE_END = re.compile(r"[.?!](?=\s+(?:[A-Z\d(\[]|arXiv|abs/)|\s*$)")
_QUOTED = re.compile(r"^[“\"](.+?)[,.]?[”\"]\s*[,.]?\s*")
_INITIALS = re.compile(r"(?:[^\W\d_]\.-?)+")  # 'A.', 'D.E.', 'K.-R.'
_LOWER_GIVEN = re.compile(r"[a-z]{2,5}(?= [^\W\d_])")  # 'Wei jing Zhu': a lowercase given name as printed


@dataclass(frozen=True)
class ReferenceEntry:
    """One entry of a paper's reference list: its label number, authors, title, year, venue and full text."""

    number: int
    text: str
    authors: tuple[str, ...] = ()
    title: str = ""
    year: int | None = None
    venue: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "ReferenceEntry":
        """An entry from its stored JSON form."""
        return cls(**{**data, "authors": tuple(data.get("authors", ()))})


def _token(text: str, pos: int) -> tuple[str, str, int] | None:
    """The name token at `pos` as (kind, token, end): 'init' ('A.', 'D.E.', 'K.-R.', a bare 'E' before a name
    or a separator), 'low' (a lowercase initial such as the 'd.' of 'C. d. M.'), 'word' (capitalised) or 'part'
    (a lowercase particle such as 'van'); None when the text there is no name token."""
    match = _INITIALS.match(text, pos)
    if match and all(c.isupper() for c in match.group(0) if c.isalpha()):
        return "init", match.group(0), match.end()
    if match and len(match.group(0)) == 2 and match.group(0)[0].islower():
        return "low", match.group(0), match.end()
    match = _WORD.match(text, pos)
    if not match:
        return None
    word = match.group(0)
    if len(word) == 1 and word.isupper():
        return "init", word, match.end()
    if word[0].isupper() and len(word) > 1:
        return "word", word, match.end()
    if word in _PARTICLES or word.startswith(("d’", "d'")):
        return "part", word, match.end()
    return None


def _bare_initial_ok(text: str, end: int) -> bool:
    """A capital without a full stop is an initial only where a name or a separator follows ('Geoffrey E Hinton',
    'Emily L, Zaremba'), never before a lowercase word ('A bert baseline')."""
    rest = text[end:end + 6]
    return bool(re.match(r"\s*(?:,|&|and\s|$)", rest) or re.match(r"\s[^\W\d_]", rest) and
                not re.match(r"\s[a-z]", rest))


def _direct_name(text: str, pos: int) -> tuple[str, int] | None:
    """'F. Surname', 'Given Middle Surname', 'Aäron van den Oord' starting at `pos`: (name, end) or None."""
    tokens, end = [], pos
    while len(tokens) < 6:
        at = end + 1 if tokens and text[end:end + 1] == " " else end
        if tokens and at == end:
            break
        token = _token(text, at)
        lower = _LOWER_GIVEN.match(text, at) if tokens and not token else None
        if lower and lower.group(0) not in ("and", "et") and text[lower.end() + 1].isupper():
            token = ("part", lower.group(0), lower.end())  # 'Wei jing Zhu': a lowercase given name as printed
        if not token or token[0] == "low":
            break
        kind, word, stop = token
        if kind == "init" and "." not in word and not _bare_initial_ok(text, stop):
            break
        if kind == "part" and not tokens:
            break
        tokens.append(token)
        end = stop
        if kind == "word" and text[end:end + 1] == ".":
            break  # 'A. Zisserman. The devil ...': the full stop ends the name
    while tokens and tokens[-1][0] != "word":
        tokens.pop()
    if not 2 <= len(tokens) <= 5:
        return None
    return " ".join(word for _, word, _ in tokens), tokens[-1][2]


def _inverted_name(text: str, pos: int) -> tuple[str, int] | None:
    """'Surname, F. M.' or 'Surname, Given' starting at `pos`, returned as 'F. M. Surname' / 'Given Surname'."""
    surname, end = [], pos
    while len(surname) < 4:
        token = _token(text, end)
        if not token or token[0] in ("init", "low"):
            return None
        surname.append(token[1])
        end = token[2]
        if token[0] == "word" and text[end:end + 1] == ",":
            break
        if text[end:end + 1] != " ":
            return None
        end += 1
    if text[end:end + 1] != ",":
        return None
    end = end + 1 + (1 if text[end + 1:end + 2] == " " else 0)
    given, words_allowed = [], True
    while len(given) < 4:
        token = _token(text, end)
        if not token:
            break
        kind, word, stop = token
        if kind == "word" and not words_allowed or kind == "part":
            break
        if kind == "init" and "." not in word and not re.match(r"\s*(?:,|&|and\s|\(|$)", text[stop:stop + 5]):
            break
        if kind == "low" and not given:
            break
        given.append(word)
        end = stop
        if kind in ("init", "low"):
            words_allowed = False
            nxt = _token(text, end + 1) if text[end:end + 1] == " " else None
            if "." in word and not (nxt and nxt[0] in ("init", "low") and "." in nxt[1]):
                break  # 'Bengio, Y. Learning deep ...': the initials end the name
        if text[end:end + 1] != " ":
            break
        end += 1
    if not given:
        return None
    while text[end - 1:end] == " ":
        end -= 1
    return " ".join(given) + " " + " ".join(surname), end


def _inverted(text: str) -> bool:
    """Whether the list starts 'Surname, ...' (one surname word, or particles and one, before the comma)."""
    head = text.split(",", 1)[0]
    words = head.split()
    if not words or len(words) > 3 or "." in head:
        return False
    return len(words) == 1 or all(w.lower() in _PARTICLES or w[0].isupper() for w in words[:-1]) and (
        re.match(r",\s*[^\W\d_]\.", text[len(head):]) is not None)


def _author_list(text: str) -> tuple[list[str], int]:
    """The names at the start of an entry and where they end; stops at the first thing that is not a name."""
    read = _inverted_name if _inverted(text) else _direct_name
    names, end = [], 0
    first = read(text, 0)
    if not first:
        return [], 0
    names.append(first[0])
    end = first[1]
    while True:
        sep = _SEP.match(text, end)
        following = read(text, sep.end()) if sep and sep.end() > end else None
        if following:
            names.append(following[0])
            end = following[1]
            continue
        et_al = _ET_AL.match(text, end)
        if et_al:
            end = et_al.end()
        return names, end


def _venue(text: str) -> str:
    """What is left after the title, reduced to the venue: no 'In', pages or volume numbers."""
    venue = re.sub(r"^[Ii]n:?\s+", "", text.strip(" .,"))
    venue = re.sub(r",?\s*(?:vol\.|no\.|pp\.|pages)\s.*$", "", venue, flags=re.I)
    venue = re.sub(r",?\s*\d+\s*\(\d+\)\s*[:,]?.*$|,\s*\d+\s*[:,]\s*\d+[–\-]\d+.*$", "", venue)
    venue = re.sub(r"\s*[,.]?\s*to appear\.?$", "", venue, flags=re.I)  # a trailing year stays ('ICML, 2022')
    venue = venue.strip(" .,;")
    return "" if _LEADING_YEAR.fullmatch(venue) or not re.search(r"[^\W\d_]{2}", venue) else venue


def parse_reference(text: str, position: int) -> ReferenceEntry:
    """One reference-list entry parsed into authors, title, year and venue (its own [n] label if it has one).
    A field the entry does not show plainly stays empty: an empty title is better than a wrong one."""
    text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", " ".join(text.split()))  # 'Dahl, G. E.. &'
    label = _LABEL.match(text)
    number = int(label.group(1) or label.group(2)) if label else position
    natbib = None if label else _NATBIB_LABEL.match(text)
    rest = text[label.end():] if label else text[natbib.end():] if natbib else text
    year_match = _PAREN_YEAR.search(rest)
    names, end = _author_list(rest)
    tail = rest[end:].lstrip(" .,:")
    leading = _LEADING_YEAR.match(tail)
    if leading:
        tail = tail[leading.end():]
    years = list(_YEAR.finditer(rest))
    year_match = year_match or leading or (years[-1] if years else None)
    year = int(year_match.group(1)) if year_match else None
    if not names:
        return ReferenceEntry(number, text, year=year)
    quoted = _QUOTED.match(tail)
    if quoted:
        title, tail = quoted.group(1).strip(" ,."), tail[quoted.end():]
    else:
        stop = _TITLE_END.search(tail)
        title, tail = (tail[:stop.start() + (stop.group(0) != ".")], tail[stop.end():]) if stop else (tail, "")
        title = re.sub(r",\s*(?:19|20)\d{2}[a-z]?$", "", title.strip())
        if _VENUE_START.match(title) or _LEADING_YEAR.fullmatch(title):
            title, tail = "", title + " " + tail
    return ReferenceEntry(number, text, tuple(names), title.strip(), year, _venue(tail))


def reference_for(marker: str, entries: tuple[ReferenceEntry, ...]) -> ReferenceEntry | None:
    """The entry a citation marker inside a paper means ('[12]' or '12'), or None."""
    digits = re.sub(r"\D", "", marker)
    if not digits:
        return None
    number = int(digits)
    return next((entry for entry in entries if entry.number == number), None)


def cited_entries(text: str, entries: tuple[ReferenceEntry, ...]) -> list[ReferenceEntry]:
    """The works a passage of a paper cites by number ('[12]', '[3, 5]', '[7-9]'), in order of first citation."""
    numbers = citations_in(text)
    by_number = {entry.number: entry for entry in entries}
    return [by_number[n] for n in numbers if n in by_number]


_NAME_TOKEN = re.compile(r"^[^\W\d_][\w'’.\-]*$")


def _surname(author: str) -> str | None:
    """The surname of a parsed author name ('Jimmy Lei Ba' -> 'Ba', 'D.E. Rumelhart' -> 'Rumelhart'), or None when
    the 'name' is no name (a title or venue the parser took for one: quotes, digits, more than five words)."""
    words = author.replace(".", ". ").split()
    if not words or len(words) > 5 or not all(_NAME_TOKEN.match(w) for w in words):
        return None
    surname = words[-1].strip(".")
    return surname if len(surname) > 1 and surname[0].isupper() else None


def short_citation(entry: ReferenceEntry) -> str | None:
    """'Vaswani et al., 2017' / 'Ba and Kiros, 2016' / 'Hinton, 2015' for an entry whose authors all parse as
    names and that has a year; None otherwise (a wrong name is worse than none)."""
    surnames = [_surname(a) for a in entry.authors]
    if not entry.authors or entry.year is None or None in surnames:
        return None  # one 'author' that is no name (a title or venue parsed as one) and the list is not trusted
    if len(entry.authors) == 1:
        return f"{surnames[0]}, {entry.year}"
    if len(entry.authors) == 2:
        return f"{surnames[0]} and {surnames[1]}, {entry.year}"
    return f"{surnames[0]} et al., {entry.year}"


def with_cited_works(text: str, entries: tuple[ReferenceEntry, ...]) -> str:
    """A passage of a paper with each numeric citation of its own list written as the works it means ('as in [12]'
    -> 'as in (Vaswani et al., 2017)', '[3, 5]' -> '(A et al., 2019; B, 2020)'). A marker that does not resolve
    whole stays as printed. Inside a PeerDraft article '[n]' means the article's own sources, so a paper's '[12]'
    copied or quoted as it is would point at the wrong one."""
    if not entries:
        return text
    by_number = {entry.number: entry for entry in entries}

    def resolve(match: re.Match) -> str:
        labels = [short_citation(by_number[n]) if n in by_number else None for n in citations_in(match.group(0))]
        return match.group(0) if not labels or None in labels else "(" + "; ".join(labels) + ")"

    return CITATION.sub(resolve, text)


def as_document(entry: ReferenceEntry, paper_id: str = "ref"):
    """The entry as a Document (title, authors, year, venue), so BibTeX export and citations treat it like any
    other source."""
    from engine.records import Document

    arxiv = re.search(r"arXiv:?\s*(\d{4}\.\d{4,5})", entry.text, re.IGNORECASE)
    return Document(doc_id=f"{paper_id}-ref{entry.number}", title=entry.title or entry.text[:120],
                    authors=entry.authors, year=entry.year, venue=entry.venue,
                    arxiv_id=arxiv.group(1) if arxiv else "")


def bibliography_bibtex(entries: tuple[ReferenceEntry, ...], paper_id: str = "ref") -> str:
    """A paper's parsed reference list as BibTeX (through the export stage's one BibTeX writer)."""
    from engine.export import to_bibtex

    return to_bibtex(as_document(entry, paper_id) for entry in entries)
