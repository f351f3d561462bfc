"""parse_reference: one printed reference-list entry into authors, title, year and venue, in the styles papers use."""

import re

import pytest

from engine.bibliography import parse_reference


def _is_name(author: str) -> bool:
    return not re.search(r"[“”\"\d]|\bvol\.|\bpp\.", author) and len(author.split()) <= 5


def test_ieee_entry_with_a_quoted_title_keeps_the_title_out_of_the_authors():
    entry = parse_reference('[4] K. Marlow, T.-Y. Osei, and R.J. Brandt, "Sparse updates for streaming '
                            'optimisers," Journal of Applied Learning, vol. 17, pp. 210–233, 2003.', 4)
    assert entry.number == 4
    assert entry.authors == ("K. Marlow", "T.-Y. Osei", "R.J. Brandt")
    assert entry.title == "Sparse updates for streaming optimisers"
    assert entry.venue == "Journal of Applied Learning"
    assert entry.year == 2003


def test_ieee_curly_quotes_and_in_venue():
    entry = parse_reference("[9] P. Lindqvist and M. Okafor, “Curriculum schedules revisited,” in ICML, 2016.", 9)
    assert entry.authors == ("P. Lindqvist", "M. Okafor")
    assert entry.title == "Curriculum schedules revisited"
    assert entry.venue == "ICML, 2016"  # the year stays where the entry prints it


def test_surname_initials_without_a_parenthesised_year_ends_at_the_last_initial():
    entry = parse_reference("Ferro, J. and Quist, R. Can shallow models match deep ones? In NIPS, "
                            "pp. 1200–1210. 2012.", 1)
    assert entry.authors == ("J. Ferro", "R. Quist")
    assert entry.title == "Can shallow models match deep ones?"
    assert entry.venue == "NIPS"
    assert entry.year == 2012


def test_surname_initials_with_year_in_parentheses():
    entry = parse_reference("Harlan, D. E., van Rijn, B., and Moreau, P.-A. (2011b). Gated memories for "
                            "parsing. Neural Computation, 23(8), 2053–2073.", 1)
    assert entry.authors == ("D. E. Harlan", "B. van Rijn", "P.-A. Moreau")
    assert entry.title == "Gated memories for parsing"
    assert entry.year == 2011
    assert entry.venue == "Neural Computation"


def test_surname_given_names_alternate_by_comma():
    entry = parse_reference("Okonkwo, Ada, Brennan, Liam P, and Sato, Ken-Ichi. Faster natural gradients. "
                            "SIAM Journal on Optimization, 30(4):838–855, 1994.", 1)
    assert entry.authors == ("Ada Okonkwo", "Liam P Brennan", "Ken-Ichi Sato")
    assert entry.title == "Faster natural gradients"
    assert entry.year == 1994


def test_a_capital_starting_the_title_is_not_taken_for_an_initial():
    entry = parse_reference("Ruiz, C., Tan, K., and Vogel, M. A simple baseline for long questions. "
                            "arXiv preprint arXiv:1905.01234, 2019.", 1)
    assert entry.authors == ("C. Ruiz", "K. Tan", "M. Vogel")
    assert entry.title == "A simple baseline for long questions"
    assert entry.year == 2019  # not 1905 from the arXiv id


def test_natbib_bracket_label_is_not_part_of_the_first_author():
    entry = parse_reference("[Halvorsen et al.2014] D. Halvorsen, K. Ibe, and Y. Marchetti. 2014. Aligning "
                            "words with attention. In EMNLP.", 3)
    assert entry.number == 3
    assert entry.authors == ("D. Halvorsen", "K. Ibe", "Y. Marchetti")
    assert entry.title == "Aligning words with attention"
    assert entry.year == 2014 and entry.venue == "EMNLP"


def test_acl_year_after_authors_and_non_ascii_names():
    entry = parse_reference("Zoë Ångström, Łukasz Nowicki, and Aäron van der Berg. 2018. Contextual "
                            "embeddings for tagging. In Proceedings of COLING, pages 1638–1649.", 1)
    assert entry.authors == ("Zoë Ångström", "Łukasz Nowicki", "Aäron van der Berg")
    assert entry.title == "Contextual embeddings for tagging"
    assert entry.year == 2018
    assert entry.venue == "Proceedings of COLING"


def test_et_al_is_dropped_and_the_year_is_not_read_from_the_pages():
    entry = parse_reference("[7] Mira Solberg, Tomasz Wierzbicki, et al. Dropout for recurrent nets. The "
                            "Journal of Machine Learning Research, 15(1):1929–1958, 2014.", 7)
    assert entry.authors == ("Mira Solberg", "Tomasz Wierzbicki")
    assert entry.title == "Dropout for recurrent nets"
    assert entry.year == 2014


def test_a_book_keeps_its_publisher_as_venue():
    entry = parse_reference("[2] C. M. Fairbairn. Neural models of pattern recognition. Oxford university "
                            "press, 1997.", 2)
    assert entry.authors == ("C. M. Fairbairn",)
    assert entry.title == "Neural models of pattern recognition"
    assert entry.venue == "Oxford university press, 1997" and entry.year == 1997


def test_twenty_authors_are_all_kept():
    names = [f"{chr(65 + i)}. Author{chr(97 + i)}son" for i in range(22)]
    entry = parse_reference(", ".join(names[:-1]) + f", and {names[-1]}. A very large study. In NeurIPS, 2021.", 1)
    assert entry.authors == tuple(names)
    assert entry.title == "A very large study"


@pytest.mark.parametrize("text", [
    "[Buck et al.2014] Christian Buck, Kenneth Heafield, and guage Bas models van Ooyen. from the 2014. common "
    "N-gram crawl. counts In LREC. and lan-",
    "[3] 2019. Natural questions: a benchmark. vol. 7, pp. 1–20.",
    "“Quoted title only,” in Interspeech, 2012.",
])
def test_scrambled_or_nameless_entries_give_no_garbage_author(text):
    entry = parse_reference(text, 1)
    assert all(_is_name(author) for author in entry.authors)


def test_an_entry_without_names_returns_no_title_rather_than_a_guess():
    entry = parse_reference("[5] 2019. Natural questions: a benchmark for question answering. TACL.", 5)
    assert entry.authors == () and entry.title == "" and entry.year == 2019


def test_an_elided_middle_of_the_author_list_does_not_end_it():
    entry = parse_reference("Lund, Y., Petit, J., Sahin, S., ... & Quarles, C. J. (2020). Large batch training "
                            "for language models. In: ICLR.", 1)
    assert entry.authors == ("Y. Lund", "J. Petit", "S. Sahin", "C. J. Quarles")
    assert entry.title == "Large batch training for language models"


def test_a_title_that_starts_with_in_is_not_taken_for_the_venue():
    entry = parse_reference("Brandt, J. & Oduya, N. (2016). In defence of small models. In: CVPR.", 1)
    assert entry.title == "In defence of small models" and entry.venue == "CVPR"
