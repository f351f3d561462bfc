"""The jargon check: terms found in prose, defined at first use or not, grounded suggestions, inserts, exports."""

from __future__ import annotations

from dataclasses import replace

from engine.check import run_checks
from engine.check.jargon import (JargonReport, check_jargon, glossary, highlight_spans,
                                 insert_definition, suggest_definition)
from engine.check.reader import ML_PEERS
from engine.records import Passage


def term(report: JargonReport, name: str):
    matches = [t for t in report.terms if t.term.lower() == name.lower()]
    assert matches, f"{name!r} not among {[t.term for t in report.terms]}"
    return matches[0]


def passage(text: str, score: float, doc_id: str = "paper", chunk_id: str = "paper:1", page: int = 2) -> Passage:
    return Passage(chunk_id=chunk_id, doc_id=doc_id, text=text, score=score, title=f"Title of {doc_id}", page=page)


def test_undefined_term_is_flagged_at_first_use_with_draft_offset_and_line():
    draft = "# Notes\n\nWe tune the model with QLoRA on one card.\nQLoRA worked well.\n"
    report = check_jargon(draft)
    qlora = term(report, "QLoRA")
    assert qlora.status == "undefined"
    assert draft[qlora.first_use:qlora.first_use + qlora.first_use_length] == "QLoRA"
    assert qlora.first_use == draft.index("QLoRA") and qlora.first_use_line == 3
    assert [t.term for t in report.undefined] == ["QLoRA"]


def test_acronym_expanded_in_parentheses_is_defined():
    assert term(check_jargon("We tune the schedule with PBT (population based training)."),
                "PBT").status == "defined"


def test_long_form_before_acronym_in_parentheses_defines_the_acronym_and_its_later_uses():
    # LoRA itself is everywhere in ML writing (the default reader knows it): the general reader is asked about.
    report = check_jargon("Low-rank adaptation (LoRA) trains two small matrices. Later, LoRA adapters are merged.",
                          audience="general readers")
    lora = term(report, "Low-rank adaptation")
    assert lora.status == "defined" and len(lora.mentions) == 3
    assert len(report.terms) == 1


def test_each_definition_pattern_counts_as_a_definition():
    drafts = {
        "copula": "GPTQ is a post-training method that rounds weights one layer at a time.",
        "means": "Here GPTQ means post-training rounding with error correction.",
        "appositive": "We use GPTQ, a post-training method, on every layer.",
        "dash": "We use GPTQ — post-training rounding with error feedback — on every layer.",
        "called": "We round weights with a method called GPTQ on every layer.",
        "known as": "We use a rounding method known as GPTQ on every layer.",
        "that is": "We use GPTQ, that is, rounding with error feedback, on every layer.",
        "i.e.": "We use GPTQ, i.e. rounding with error feedback, on every layer.",
        "next sentence": "We quantise the model with GPTQ. It rounds one layer at a time and corrects the error.",
        "mechanism": "GPTQ replaces each weight with a rounded value while correcting the error.",
    }
    for pattern, draft in drafts.items():
        assert term(check_jargon(draft), "GPTQ").status == "defined", pattern


def test_mentions_without_a_definition_are_not_definitions():
    for draft in ("We use GPTQ on every layer.", "GPTQ is faster than rounding to nearest.",
                  "We use GPTQ (Frantar et al., 2022) on every layer."):
        assert term(check_jargon(draft), "GPTQ").status == "undefined", draft


def test_definition_after_the_next_sentence_is_defined_late_with_both_positions():
    # A term peers may not know (gradient checkpointing itself is common in ML writing, so peers know it).
    draft = ("We cut memory with activation offloading.\n\nThe run took two days.\n\n"
             "Activation offloading stores activations in CPU memory and copies them back when needed.\n")
    gc = term(check_jargon(draft), "activation offloading")
    assert gc.status == "defined_late" and gc.defined
    assert gc.first_use == draft.index("activation offloading")
    assert gc.definition_offset == draft.index("Activation offloading") and gc.definition_line == 5


def test_assumed_terms_are_reported_as_assumed_and_never_flagged():
    report = check_jargon("We serve the model with vLLM and FlashAttention.", assumed_terms=["vllm"])
    assert term(report, "vLLM").status == "assumed"
    assert [t.term for t in report.undefined] == ["FlashAttention"]


def test_terms_every_peer_knows_are_not_reported_unless_the_audience_is_general():
    draft = "The GPU runs the transformer with softmax attention and dropout."
    assert check_jargon(draft).terms == ()
    assert "GPU" in [t.term for t in check_jargon(draft, audience="general readers").terms]


def test_heading_mention_is_not_the_first_use():
    draft = "## Why PBT\n\nWe use PBT. PBT is a tuning method that copies the weights of the best runs.\n"
    pbt = term(check_jargon(draft), "PBT")
    assert pbt.first_use == draft.index("We use PBT") + len("We use ")
    assert pbt.status == "defined"  # defined in the sentence after the first use


def test_code_urls_and_citations_are_ignored():
    draft = ("Call `FlashAttention()` as shown at https://example.org/QLoRA-NF4 [3].\n\n"
             "```python\nmodel = GPTQ(bits=4)\n```\n")
    assert check_jargon(draft).terms == ()


def test_case_and_plural_variants_are_one_term():
    report = check_jargon("We keep inverted lists per cluster. The Inverted list grows. An inverted-list is stored per centroid.")
    assert len(report.terms) == 1 and len(report.terms[0].mentions) == 3


def test_ordinary_prose_has_no_terms():
    draft = ("The recipe asks for flour, water, salt and a little yeast. Knead the dough for ten minutes, "
             "let it rise overnight in a cool kitchen, and bake it until the crust is dark. On Monday, "
             "Maria walked 12 km to the harbour in 3 hours.")
    assert check_jargon(draft).terms == ()


def test_rare_word_is_a_term_and_common_derivations_are_not():
    report = check_jargon("The decoder recomputes the logits. We tried random sampling with a drafter and a verifier. "
                          "The drafter proposes tokens.")
    assert [t.term for t in report.terms] == ["drafter"]


def flagged(draft: str) -> list[str]:
    return [t.term for t in check_jargon(draft).undefined]


def test_common_words_that_rarely_meet_form_a_term_of_art():
    assert flagged("The candidates are scored with a brevity penalty.") == ["brevity penalty"]
    assert flagged("Each vector is compressed with product quantization.") == ["product quantization"]


def test_everyday_noun_compounds_are_not_terms():
    draft = ("Our business model depends on loyal customers. A role model for the team is the bakery, which has "
             "kept the same price list for years. The bus network shrank, and the parking policy changed.")
    assert check_jargon(draft).terms == ()


def test_rare_word_beside_a_named_method_is_a_term_but_not_in_plain_prose():
    assert "shingles" in flagged("We deduplicated the crawl with MinHash over the shingles of each page.")
    assert check_jargon("The roof of the barn was covered with cedar shingles.").terms == ()


def test_plain_derivations_and_compounds_of_common_words_stay_ordinary_beside_names():
    report = check_jargon("With BLEU, label smoothing worsens perplexity and ignores adequacy; BERT keeps a placeholder.")
    assert {t.term for t in report.terms} <= {"BLEU", "label smoothing"}


def test_bare_sentence_initial_name_is_a_term_in_a_technical_paragraph():
    assert "Chinchilla" in flagged("Chinchilla showed that tokens and parameters should grow together. "
                                   "Under those scaling laws, older models were undertrained.")


def test_sentence_initial_imperatives_plurals_and_names_in_plain_prose_are_not_terms():
    draft = ("Knead the dough until it springs back. Otters returned to the river after the mill closed. "
             "Marigold sold her bicycle and bought a canoe.")
    assert check_jargon(draft).terms == ()


def test_hyphenated_verb_of_a_technical_head_is_a_term_and_known_ones_are_not():
    report = check_jargon("The encoder mean-pools its token states into one vector.")
    # a term, but a lowercase word neither English nor ML writing lists is seldom one a peer misses: a candidate
    assert [(t.term, t.status) for t in report.terms] == [("mean-pools", "undefined")]
    assert [t.term for t in report.candidates] == ["mean-pools"] and report.undefined == ()
    assert check_jargon("We fine-tuned the encoder for two epochs.").terms == ()


def test_acronym_of_an_earlier_phrase_without_parentheses_is_the_same_term():
    report = check_jargon("Grouped-query attention lets several query heads share one key-value head. "
                          "GQA shrinks memory use.")
    gqa = term(report, "Grouped-query attention")
    assert gqa.status == "defined" and gqa.aliases == ("GQA",) and len(report.terms) == 1


def test_relative_clause_after_the_term_defines_it():
    assert term(check_jargon("Our retriever uses HNSW, a graph index in which each vector links to near neighbours."),
                "graph index").status == "defined"


def test_plain_prose_paragraphs_raise_no_flags():
    draft = ("The city council met on Tuesday to discuss parking. Residents said the bus network had shrunk.\n\n"
             "Grandmother kept a record label's first pressing in a box under the stairs.\n\n"
             "Our village choir practises on Thursday evenings; the conductor teaches every part by ear.\n\n"
             "The hikers followed the ridge to the summit cairn and descended by the scree path before dusk.")
    assert check_jargon(draft).terms == ()


def test_suggestion_is_the_best_scored_definitional_sentence_with_its_citation():
    def search(query: str):
        return [passage("We ran GPTQ on all layers. It took an hour.", 0.9, "a", "a:1"),
                passage("Quantisation matters. GPTQ is a post-training method that rounds one layer at a time.",
                        0.7, "b", "b:4", page=3),
                passage("GPTQ is a one-shot weight quantisation method.", 0.5, "c", "c:2")]

    report = check_jargon("We use GPTQ on every layer.", search=search)
    suggestion = term(report, "GPTQ").suggestion
    assert suggestion.text == "GPTQ is a post-training method that rounds one layer at a time."
    assert suggestion.to_dict()["citation"] == {"doc_id": "b", "chunk_id": "b:4", "title": "Title of b", "page": 3}


def test_no_suggestion_when_the_corpus_holds_no_definition():
    def search(query: str):
        return [passage("We ran GPTQ on all layers and it was fast.", 0.9)]

    assert suggest_definition("GPTQ", search) is None
    assert term(check_jargon("We use GPTQ.", search=search), "GPTQ").suggestion is None
    assert suggest_definition("GPTQ", lambda q: []) is None


def test_acronym_suggestion_follows_the_long_form_that_retrieved_passages_give_it():
    queries = []

    def search(query: str):
        queries.append(query)
        if "inverted file" in query.lower():
            return [passage("An inverted file is a structure that keeps one list of vectors per coarse centroid.",
                            0.8, "faiss", "faiss:3")]
        return [passage("At query time FAISS probes a few lists of its inverted file (IVF) index.", 0.9, "faiss", "faiss:1")]

    suggestion = suggest_definition("IVF", search)
    assert suggestion.text.startswith("An inverted file is a structure") and suggestion.chunk_id == "faiss:3"
    assert queries[0] == "IVF" and "inverted file" in queries


def test_alternative_name_or_short_aside_before_is_counts_as_a_definition():
    def search(query: str):
        return [passage("BM25 uses it. Inverse document frequency, or IDF, is a term weight that favours rare terms.", 0.9),
                passage("Document length normalisation, controlled by b, is the adjustment for long documents.", 0.8)]

    assert suggest_definition("IDF", search).text.startswith("Inverse document frequency, or IDF, is")
    assert suggest_definition("length normalization", search).text.startswith("Document length normalisation")


def test_one_word_term_is_defined_through_the_noun_it_modifies():
    def search(query: str):
        return [passage("SBERT is siamese. A siamese network is an architecture whose inputs share one encoder.", 0.9)]

    assert suggest_definition("siamese", search).text.startswith("A siamese network is an architecture")


def test_definition_with_the_term_as_subject_beats_a_passing_explanation():
    passages = [passage("We train an MLM (masked language model) head.", 0.9, "a", "a:1"),
                passage("The generator is a small masked language model whose outputs replace tokens.", 0.8, "b", "b:1"),
                passage("A masked language model (MLM) is a model trained to predict hidden tokens.", 0.5, "c", "c:1")]
    for name in ("MLM", "masked language model"):
        assert suggest_definition(name, lambda q: passages).chunk_id == "c:1", name


def test_british_and_american_spellings_and_plurals_are_one_term():
    report = check_jargon("We add length normalisation. Length normalization matters. Length normalisations vary.")
    assert len(report.terms) == 1 and len(report.terms[0].mentions) == 3


def test_inserting_a_suggestion_makes_the_term_defined():
    draft = "# Setup\n\nWe quantise with GPTQ before serving. The server runs on one card.\n"
    suggestion_text = "GPTQ is a post-training method that rounds one layer at a time."
    result = term(check_jargon(draft), "GPTQ")
    updated = insert_definition(draft, result, suggestion_text, citation="[2]")
    assert updated == ("# Setup\n\nWe quantise with GPTQ before serving. GPTQ is a post-training method that rounds "
                       "one layer at a time [2]. The server runs on one card.\n")
    assert term(check_jargon(updated), "GPTQ").status == "defined"


def test_glossary_lists_every_term_with_its_definition_in_markdown_and_csv():
    report = check_jargon("GPTQ is a post-training quantisation method. We serve with FlashAttention.")
    md = glossary(report)
    assert "| GPTQ | defined | GPTQ is a post-training quantisation method. | draft |" in md
    assert "| FlashAttention | undefined |  |  |" in md
    csv_text = glossary(report, fmt="csv")
    assert csv_text.splitlines()[0] == "term,status,definition,source" and "FlashAttention,undefined,," in csv_text


def test_highlight_spans_point_at_first_uses_of_flagged_terms():
    draft = "We use FlashAttention. GPTQ is a post-training method. Later, FlashAttention was fast."
    report = check_jargon(draft)
    spans = highlight_spans(report)
    assert [(s.term, draft[s.offset:s.offset + s.length], s.role) for s in spans] == \
        [("FlashAttention", "FlashAttention", "first_use")]


def test_run_checks_returns_the_jargon_report_as_json_ready_dict():
    report = run_checks("We use FlashAttention.")["jargon"]
    reason = report.terms[0].reason
    assert reason.endswith("not defined at its first use on line 1") and "ML writing" in reason
    assert report.to_dict() == {
        "terms": [{"term": "FlashAttention", "first_use": {"offset": 7, "line": 1}, "defined": False, "status": "undefined",
                   "definition_offset": None, "suggestion": None,
                   "why": reason}],
        "undefined": ["FlashAttention"]}


# --- issue 18: a reader model and precision on real articles ---------------------------------

def test_ml_peers_know_what_ml_writing_uses_all_the_time_and_newcomers_do_not():
    draft = "The encoder is trained with backpropagation, and its outputs go through a softmax after max-pooling."
    assert flagged(draft) == []
    newcomer = check_jargon(draft, audience="software engineers new to ML")
    assert {"backpropagation", "softmax", "max-pooling"} <= {t.term for t in newcomer.undefined}
    assert all("new to software engineers new to ML" in t.reason for t in newcomer.undefined)


def test_reader_for_picks_a_profile_from_the_brief_audience():
    from engine.check.reader import GENERAL, ML_PEERS, NEW_TO_ML, reader_for

    assert reader_for(None) is ML_PEERS and reader_for("ML engineers") is ML_PEERS
    assert reader_for("Software engineers new to ML") is NEW_TO_ML
    assert reader_for("the general public") is GENERAL


def test_flag_says_why_and_where():
    [result] = check_jargon("We serve the model with FlashAttention on two GPUs.\n").undefined
    assert "ML writing" in result.reason and result.reason.endswith("not defined at its first use on line 1")


def test_people_the_article_cites_are_never_terms():
    draft = ("Dense vectors are older than BERT ([Deerwester et al., 1990](http://x.org/lsi.pdf); "
             "[Yih, et al., 2011](https://x.org/w11)). Karpukhin et al. (2020) trained them for QA.\n\n"
             "## References\n\n[1] Vladimir Karpukhin, et al. [\"Dense passage retrieval\"](https://x.org/dpr) 2020.\n")
    terms = {t.term for t in check_jargon(draft, audience="general readers").terms}
    assert not terms & {"Deerwester", "Yih", "Karpukhin"}


def test_site_templates_toc_markers_and_path_link_texts_are_not_prose():
    draft = ("---\ntitle: \"A post\"\n---\n\n{: class=\"table-of-content\"}\n* TOC\n{:toc}\n\n"
             "See the [language model]({{ site.baseurl }}{% post_url 2019-01-31-lm %}) post. (Image source: "
             "[acl2020-openqa-tutorial/slides/part4](https://github.com/x/y.pdf))\n")
    from engine.markup import prose_map

    pm = prose_map(draft)
    assert "TOC" not in pm.text and "toc" not in pm.text and "part4" not in pm.text and "site.baseurl" not in pm.text
    assert "language model" in pm.text
    assert not {t.term for t in check_jargon(draft).terms} & {"TOC", "part4", "acl2020-openqa-tutorial"}


def test_verbs_and_adverbs_are_trimmed_off_terms():
    draft = ("Open-domain question answering (QA) is simple to evaluate model performance on. DPR found that "
             "gold passages help, and REALM asynchronously refreshes the index. We compute word similarities.")
    terms = {t.term for t in check_jargon(draft).terms}
    assert not terms & {"evaluate model", "DPR found", "REALM asynchronously", "compute word similarities"}
    assert {"DPR", "REALM"} <= terms


def test_a_name_with_a_generic_head_is_the_name_and_topic_words_compose():
    draft = ("We index passages. Each passage is short, and a passage can hold an answer. "
             "A passage encoder embeds them, and the ICT loss trains it with a BERT model.")
    report = check_jargon(draft)
    assert "passage encoder" not in {t.term for t in report.terms}
    assert [t.key for t in report.undefined] == ["ict"]  # "ICT loss" is about ICT; BERT is known


def test_a_phrase_of_everyday_words_used_once_stays_a_term_of_art():
    # "reward model" was the example until ML writing showed peers know it (engine/check/reader.py's policy).
    assert flagged("The server batches requests with static batching.") == ["static batching"]


def test_names_given_as_examples_or_with_their_kind_are_not_flagged():
    draft = ("We do not cover structured knowledge bases (e.g. Freebase, WikiData) here. BERTserini pairs the "
             "open-source Anserini IR toolkit with a reader. Questions come from the OMDb and MovieLens databases.")
    flags = {t.term for t in check_jargon(draft).undefined}
    assert not flags & {"Freebase", "WikiData", "Anserini", "OMDb", "MovieLens"}
    assert [t.term for t in check_jargon("The answers come from Freebase entities.").undefined] == ["Freebase"]


def test_a_name_given_as_a_link_is_pointed_to_not_undefined():
    draft = "Search runs on [HNSWlib](https://github.com/nmslib/hnswlib) over precomputed vectors.\n"
    assert term(check_jargon(draft), "HNSWlib").status == "defined"


def test_a_name_linked_to_its_own_page_anywhere_is_a_name_but_a_paper_link_explains_nothing():
    # Session 19, real posts: "Colossal-AI's SP ..." then "- [Colossal-AI](https://colossalai.org/)" under
    # "Implementations"; "IDEFICS-80B" linked to its model page, later "IDEFICS" alone; MADE linked to its paper.
    draft = ("### Sequence parallelism\n\nColossal-AI splits the sequence over a ring of devices and sends keys around.\n\n"
             "Values used for [IDEFICS-80B](https://huggingface.co/HuggingFaceM4/idefics-80b/) training follow. "
             "IDEFICS froze half of its weights.\n\nImplementations:\n\n- [Colossal-AI](https://colossalai.org/)\n")
    report = check_jargon(draft)
    assert term(report, "Colossal-AI").status == "defined"
    assert not any(t.term == "IDEFICS" and t.status != "defined" for t in report.terms)
    paper = "Use [MADE](https://arxiv.org/abs/1502.03509)-type networks. They mask an autoencoder's weights."
    made = [t for t in check_jargon(paper, audience="general readers").terms if t.key == "made"]
    assert made and made[0].status == "undefined"  # a link to the paper that explains it explains nothing here


def test_a_venue_the_citations_name_with_a_year_is_no_term_in_the_prose():
    draft = ("Planning helps Atari agents ([Guo et al, NIPS 2014](https://papers.nips.cc/paper/5421)). "
             "Someone drove an RC car at NIPS and said it used deep RL.\n")
    assert not any(t.term == "NIPS" for t in check_jargon(draft).terms)
    assert any(t.term == "NIPS" for t in check_jargon("Someone drove an RC car at NIPS and said it used deep RL.\n",
                                                      audience="general readers").terms)


def test_a_name_used_only_inside_a_quoted_sample_is_not_the_writers_term():
    draft = ("RL tuned for ROUGE gives high ROUGE but poor summaries. Here's an example.\n\n"
             "> Button was denied his 100th race for McLaren after an ERS prevented him from making it to the start. "
             "It capped a miserable weekend.\n\nThe summary reads badly.\n")
    terms = [t.term for t in check_jargon(draft, audience="general readers").terms]
    assert "McLaren" not in terms and "ERS" not in terms
    quoted_then_used = draft + "\nMcLaren's engines, though, come up again here.\n"
    assert "McLaren" in [t.term for t in check_jargon(quoted_then_used, audience="general readers").terms]


def test_definitions_where_writers_put_them():
    general = "general readers"
    cases = {
        "Dense Passage Retriever": 'We train a Dense Passage Retriever ("DPR"; Karpukhin et al., 2020). DPR beats BM25 here.',
        "DPR": "DPR (Dense Passage Retriever; Karpukhin et al., 2020) encodes passages as vectors.",
        "salient span masking": "Masking named entities is what we call salient span masking, and it helps REALM.",
    }
    for name, draft in cases.items():
        assert term(check_jargon(draft, audience=general), name).status == "defined", draft


def test_a_glossary_section_defines_its_terms():
    draft = ("We rank with BM25 and rerank with ColBERT.\n\n## Glossary\n\n"
             "- **ColBERT**: a late-interaction retriever that scores token embeddings.\n")
    assert term(check_jargon(draft), "ColBERT").status == "defined"


def test_a_first_use_that_points_ahead_is_not_flagged_late():
    draft = ("ORQA and ColBERT use such a score, described in a later section.\n\n"
             "Here is more on ranking.\n\nColBERT is a late-interaction retriever over token embeddings.\n")
    assert term(check_jargon(draft), "ColBERT").status == "defined"


def test_a_link_of_a_few_words_and_an_acronym_expansion_point_to_the_meaning():
    draft = ("Search uses the [vector space model](https://en.wikipedia.org/wiki/Vector_space_model) and "
             "weights each term by TF-IDF (term frequency times inverse document frequency).")
    report = check_jargon(draft, audience="general readers")
    assert term(report, "vector space model").status == "defined"
    assert term(report, "inverse document frequency").status == "defined"


def test_section_intros_and_goal_sentences_define_their_term():
    general = "general readers"
    assert term(check_jargon("## Triplet Loss\n\n**Triplet loss** was first used to learn faces.\n", audience=general),
                "Triplet loss").status == "defined"
    assert term(check_jargon("The main idea of contrastive learning is to pull similar samples together.",
                             audience=general), "contrastive learning").status == "defined"
    assert term(check_jargon("**BERTserini** ([Yang et al., 2019](https://x.org/a)) pairs an Anserini retriever "
                             "with a BERT reader.", audience=general), "BERTserini").status == "defined"


def test_an_acronym_right_after_its_words_is_spelled_out():
    draft = "We use truncated backpropagation through time of length 100. Halve it with 50-step BPTT at no cost."
    assert term(check_jargon(draft), "BPTT").status == "defined"
    # (Peers know POS: the glossary names it; a reader new to ML is told.)
    assert term(check_jargon("It includes POS (part-of-speech) tagging.", audience="software engineers new to ML"),
                "POS").status == "defined"
    assert term(check_jargon("It is trained with QLoRA on the GPU."), "QLoRA").status == "undefined"


def test_renaming_a_list_label_and_a_bracketed_token_define_their_terms():
    # ("No trivial retrieval." was the label here; "trivial" now only describes, so that is no term at all.)
    assert term(check_jargon("Tricks:\n\n3. No static batching. The server must not wait for the slowest "
                             "request.\n"), "static batching").status == "defined"
    assert term(check_jargon('Here the "ranker" model of the R^3 paper is referred to as the retriever.'),
                "ranker").status == "defined"
    # Peers know CLS; for a reader new to ML it is a term, and the next sentence defines it.
    assert term(check_jargon("The input starts with a special [CLS] token. CLS here stands for Classification.",
                             audience="software engineers new to ML"), "[CLS] token").status == "defined"
    assert term(check_jargon("We use FlashAttention. It was fast."), "FlashAttention").status == "undefined"


def test_a_list_label_explained_next_is_defined_even_when_a_later_sentence_defines_it_again():
    draft = ("REALM adds three ideas.\n\n1. Use *salient span masking*. Named entities and dates are found and one "
             "is masked. Salient span masking is a special case of masked language modeling.\n")
    assert term(check_jargon(draft), "salient span masking").status == "defined"


def test_terms_every_ml_peer_knows_are_flagged_only_for_readers_new_to_ml():
    # The policy in engine/check/reader.py: RLHF, PPO, DPO and MMLU are the field's shared vocabulary.
    draft = ("After supervised fine-tuning the model is aligned with RLHF and optimised with PPO. DPO is cheaper. "
             "We report MMLU. The schedule comes from PBT.")
    peers = {t.term for t in check_jargon(draft).undefined}
    newcomers = {t.term for t in check_jargon(draft, audience="software engineers new to ML").undefined}
    assert peers == {"PBT"}  # one paper's acronym, not spelled out
    assert {"RLHF", "PPO", "DPO", "MMLU", "PBT"} <= newcomers


def test_a_candidate_cut_out_of_a_known_longer_phrase_is_not_a_term():
    # "adaptive learning" is a piece of "adaptive learning rate": its edge word and the next make "learning rate".
    draft = "The RNN is trained with per-parameter adaptive learning rate methods."
    assert "per-parameter adaptive learning" not in {t.term for t in check_jargon(draft).terms}
    assert "adaptive learning" not in {t.term for t in check_jargon(draft).terms}


def test_a_misspelling_one_letter_from_a_rare_english_word_is_not_a_term():
    # "interpretible" is one letter from "interpretable", itself not a common word.
    draft = "The cells are interpretible and the model is small."
    assert "interpretible" not in {t.term for t in check_jargon(draft).terms}


def test_a_known_word_spelled_in_parts_is_known():
    # ML writing writes "seq2seq" whole; "seq-2-seq" is the same word to a peer, and still a term to a newcomer.
    draft = "Each seq-2-seq maps one sequence to another."
    assert not any("seq-2-seq" in t.term for t in check_jargon(draft).terms)
    assert any("seq-2-seq" in t.term for t in check_jargon(draft, audience="software engineers new to ML").terms)


def test_the_verb_of_a_known_ing_noun_is_known_to_peers():
    # "max pooling" is ML writing's noun; "max-pools" is the same operation as a verb.
    assert flagged("The encoder max-pools the token vectors into one vector.") == []
    newcomer = check_jargon("The encoder max-pools the token vectors into one vector.",
                            audience="software engineers new to ML")
    assert "max-pools" in {t.term for t in newcomer.undefined}


def test_a_name_that_spread_into_general_english_is_known_to_peers_but_a_papers_coinage_is_not():
    # wordfreq counts Word2Vec and Theano beyond ML papers; SwiGLU only ML writing uses.
    report = check_jargon("Word2Vec vectors were trained in Theano long before SwiGLU appeared in decoders.")
    assert [t.term for t in report.undefined] == ["SwiGLU"]


def test_a_size_or_version_of_a_known_name_is_known_but_of_an_unknown_one_is_not():
    # Tuning posts' noise: "ImageNet-1K", "CIFAR-100", "ZeRO-powered"; one paper's model with its size stays a term.
    report = check_jargon("We pre-train on ImageNet-1K and test on CIFAR-100 with a ZeRO-powered trainer, then compare "
                          "with Flamingo-80B and with SwiGLU-2 heads.")
    flagged = [t.term for t in report.undefined]
    assert not {"ImageNet-1K", "CIFAR-100", "ZeRO-powered"} & set(flagged) and "SwiGLU-2" in flagged


def test_a_known_acronym_before_an_everyday_noun_is_no_new_term():
    assert check_jargon("In the RL setting the agent sees only rewards.").terms == ()
    newcomer = check_jargon("In the RL setting the agent sees only rewards.", audience="software engineers new to ML")
    assert [t.term for t in newcomer.undefined] == ["RL setting"]


def test_everyday_adjectives_before_a_generic_head_describe_for_peers_only():
    text = "Then a wider network is trained on noisy labels."
    assert check_jargon(text).terms == ()
    assert {t.term for t in check_jargon(text, audience="software engineers new to ML").undefined} == {
        "wider network", "noisy labels"}


def test_verbs_pronouns_and_trailing_adjectives_are_cut_off_a_term():
    assert [t.term for t in check_jargon("We avoid this by incorporating static batching.").undefined] == ["static batching"]
    assert [t.term for t in check_jargon("Only EDA help the model here.").undefined] == ["EDA"]
    assert check_jargon("I trained the RL myself.").terms == ()
    # "In nucleus sampling the next token …": an -ing head before "the" stays the term's head.
    draft = "We sample with min-p sampling. In min-p sampling the next token is drawn from the top-p set."
    assert term(check_jargon(draft), "min-p sampling").status == "defined"


def test_titles_shouting_samples_addresses_and_paths_are_not_terms():
    assert [t.term for t in check_jargon("The Open-Domain and End-to-End baselines lack SwiGLU.").undefined] == ["SwiGLU"]
    assert check_jargon("STABLE DIFFUSION EXPLAINED is the video to watch.").terms == ()
    assert check_jargon('Some favourites include "Killie", "Char" and "Ahbort".').terms == ()
    assert check_jargon("Mail me at [jane dot doe at gmail dot com] with corrections.").terms == ()
    assert check_jargon("Posted on r/MachineLearning; GET/POST requests are hidden. See my post.").terms == ()
    assert check_jargon("The summaries are abstractive rather than extractive.").terms == ()
    assert check_jargon("Take a Shiba Inu as an example. We see Shiba's mystery eyes.").terms == ()


def test_a_term_previewed_in_the_summary_is_defined_in_the_section_named_for_it():
    draft = ("> In this post we look into models such as transformer and SNAIL.\n\n## Transformer\n\n"
             "The transformer has no recurrence. Its layers attend over all positions.\n\n## SNAIL\n\n"
             "The Simple Neural Attention Meta-Learner (SNAIL) combines self-attention with temporal convolutions.\n")
    assert term(check_jargon(draft), "SNAIL").status == "defined"
    later = ("We compare with SNAIL in the table below.\n\n## Results\n\nSome text here. More text about it.\n\n"
             "The Simple Neural Attention Meta-Learner (SNAIL) combines two parts.\n")
    assert term(check_jargon(later), "SNAIL").status == "defined_late"


def test_adverbs_and_narrowed_known_terms_are_no_jargon_for_peers():
    assert check_jargon("The claim holds vacuously here, and the gain grows multiplicatively.").terms == ()
    text = "We add a sinusoid-wave-based positional encoding to each token."
    assert check_jargon(text).terms == ()  # a kind of positional encoding, which peers know
    assert [t.term for t in check_jargon(text, audience="software engineers new to ML").undefined] == [
        "sinusoid-wave-based positional encoding"]


def test_hardware_and_licences_named_with_their_kind_are_defined():
    report = check_jargon("One batch on a TITAN Z GPU takes 0.4 seconds. The code is under the GNU license.")
    assert report.undefined == () and {t.term for t in report.terms} == {"TITAN", "GNU license"}
    # "on-chip SRAM" names no chip called SRAM; "on two GPUs" no GPU called FlashAttention.
    assert [t.term for t in check_jargon("Tiles stay in on-chip SRAM.").undefined] == ["SRAM"]
    assert [t.term for t in check_jargon("We run FlashAttention on two GPUs.").undefined] == ["FlashAttention"]


def test_quoted_titles_and_thanks_are_no_first_use():
    reading = "Further reading:\n\n- [Scaling SwiGLU Gating for Long Question Answering](https://x.org/a)\n"
    assert check_jargon(reading).terms == ()
    assert [t.term for t in check_jargon("We gate with SwiGLU.").undefined] == ["SwiGLU"]
    lead = "**Deriving Policy Gradients**. We sketch where they come from.\n"
    assert check_jargon(lead).terms == ()
    # A bold lead that spells a term out, and an expansion linked to a section, still define it.
    intro = "**IS-BERT (Info-Sentence BERT)** ([Zhang et al. 2020](https://x.org/a)) adopts a new objective.\n"
    assert term(check_jargon(intro), "IS-BERT").status == "defined"
    anchor = "Encodings are indexed for [fast Maximum Inner Product Search (MIPS)](#mips). MIPS is fast.\n"
    assert check_jargon(anchor).terms and check_jargon(anchor).undefined == ()
    thanks = "Thanks to Robin Rombach, Dennis Soemers and Anna Golubeva for feedback.\n"
    assert check_jargon(thanks, audience="general readers").terms == ()


def test_a_narrowed_term_is_a_mention_of_the_known_term_and_an_acronyms_long_form_stays_whole():
    assert check_jargon("Each question goes through a dense dual-encoder first.").undefined == ()
    draft = ("Salient span masking is a special case of MLM and works well.\n\n"
             "T5 was pre-trained with a masked language modeling (MLM) task on C4.\n")
    assert all(t.key != "mlm" for t in check_jargon(draft).undefined)


def test_a_name_spelled_like_an_english_word_is_not_known_from_englishs_count_of_that_word():
    from engine.check.reader import ML_PEERS

    assert ML_PEERS.knows_spread_name("Word2Vec") and ML_PEERS.knows_spread_name("Theano")
    assert not ML_PEERS.knows_spread_name("GloVe")  # wordfreq counts the glove you wear
    assert not ML_PEERS.knows_spread_name("QLoRA") and not ML_PEERS.knows_spread_name("IVF")


def test_the_front_of_a_longer_noun_phrase_is_no_term():
    assert [t.term for t in check_jargon("To avoid such sparse learning signals, ORQA pretrains it.").undefined] == ["ORQA"]
    assert [t.term for t in check_jargon("DenSPI introduces a query-agnostic indexable representation.").undefined] == [
        "DenSPI"]
    # A term whose own head ends it is not cut.
    assert [t.term for t in check_jargon("We use static batching in the server.").undefined] == ["static batching"]


def test_known_parts_spelled_with_hyphens_or_names_on_known_terms_compose():
    assert check_jargon("BERT covers English and a multi-lingual model covering 102 languages.").terms == ()
    assert check_jargon("We see the hidden state of each unrolled-LSTM step.").terms == ()
    # A name's own case of a known term is a mention of the name: the name is what the reader may lack.
    [swiglu] = check_jargon("Each token gets a 300d SwiGLU word embedding.").undefined
    assert (swiglu.term, swiglu.key) == ("SwiGLU", "swiglu")
    # A capital that opens a list item is no name.
    [in_batch] = check_jargon("Negatives:\n\n3. In-batch negative sampling: positives of other questions.\n").terms
    assert in_batch.key == "in batch negative sampling"


def test_a_section_given_to_a_term_explains_it_and_version_identifiers_are_not_terms():
    intro = "ULM-FiT has nothing to do with cookies.\n\nWe start elsewhere. Then more text follows here.\n\n"
    draft = intro + "## ULM-FiT: Nailing down Transfer Learning in NLP\n\nULM-FiT introduced ways to reuse a model.\n"
    assert term(check_jargon(draft), "ULM-FiT").status == "defined"
    other = intro + "## Results\n\nULM-FiT introduced ways to reuse a model.\n"
    assert term(check_jargon(other), "ULM-FiT").status == "undefined"
    assert [t.term for t in check_jargon("DrQA hashes bigrams with murmur3 on arm64.").terms] == ["DrQA"]


def test_a_term_an_ml_glossary_names_is_known_to_peers_however_rarely_books_use_it():
    # Label smoothing has 3 uses in the 1.9M words of ML writing, RMSProp is a name below the spread bar;
    # the glossary of the field's basics names both. Readers new to ML still need them defined.
    text = "We train with label smoothing and RMSProp, then quantize with QLoRA."
    assert [t.term for t in check_jargon(text).undefined] == ["QLoRA"]
    newcomer = {t.term for t in check_jargon(text, audience="software engineers new to ML").undefined}
    assert {"label smoothing", "RMSProp", "QLoRA"} <= newcomer


def test_why_a_term_is_unknown_reads_plainly():
    from engine.check.reader import ML_PEERS

    assert ML_PEERS.why_unknown("zzqx") == "rare in general English and in ML writing; under 10 of 95,373 research abstracts use it"
    assert ML_PEERS.why_unknown("glance policy").startswith("everyday words, but not a term ML writing uses; under 10 of")
    assert ML_PEERS.why_unknown("ddpg", name=True).endswith("; 18 of 95,373 research abstracts use it")
    from engine.check.reader import NEW_TO_ML

    assert "abstracts" not in NEW_TO_ML.why_unknown("ddpg")  # a newcomer's reason is the ML vocabulary itself


def test_field_basics_that_many_publishers_write_are_known_to_peers_not_to_newcomers():
    draft = "We compare AlexNet features with t-SNE plots, as is usual in representation learning."
    assert check_jargon(draft).undefined == ()
    newcomer = {t.term for t in check_jargon(draft, audience="software engineers new to ML").undefined}
    assert {"AlexNet", "t-SNE", "representation learning"} <= newcomer


def test_an_everyday_adjective_on_a_term_the_reader_knows_is_no_new_term():
    assert check_jargon("The structured lists hold tensors.").terms == ()
    # For a newcomer the adjective changes nothing: the term it narrows still needs defining.
    assert check_jargon("The structured lists hold tensors.", audience="software engineers new to ML").undefined


def test_adverbs_behind_a_negating_prefix_are_not_terms():
    assert check_jargon("The gradient grows inexplicitly with depth, and non-trivially so.").terms == ()


def test_one_of_the_commonest_english_words_is_never_a_term_even_shouted():
    assert check_jargon("Press UP to move the paddle up, and the agent learns to go up.").terms == ()
    assert [t.term for t in check_jargon("We tune the model with QLoRA; UP and DOWN are its actions.").undefined] \
        == ["QLoRA"]


def test_plain_derivations_and_intensified_common_words_read_as_english():
    assert check_jargon("The code is checkable and scriptable. Its fanciness is superfun.").terms == ()


def test_computing_words_are_known_to_ml_peers():
    assert check_jargon("Old keys leave a FIFO queue of negatives.").undefined == ()
    assert [t.term for t in check_jargon("Old keys leave a FIFO queue.", audience="general readers").undefined] == ["FIFO"]


def test_a_known_word_rare_in_english_composes_with_a_generic_head():
    # "siamese": more used in ML writing than in English, and by 5 publishers of it: "siamese network" is its kind.
    assert check_jargon("The head of the siamese network sits on the concatenation of both outputs.").undefined == ()


# --- the panel: confident flags by default, the other candidates listed apart (issue 18) ---------------------

def test_a_rare_acronym_outranks_a_persons_name_and_a_typo():
    report = check_jargon("We train the DDPG agent as Saharia did, and it works reeaally well.")
    confidence = {t.term: t.confidence for t in report.terms}
    assert confidence["DDPG"] > 0.5 > max(confidence["Saharia"], confidence["reeaally"])
    assert [t.term for t in report.undefined] == ["DDPG"]
    assert {t.term for t in report.candidates} == {"Saharia", "reeaally"}


def test_candidates_are_listed_apart_and_neither_counted_nor_highlighted():
    report = check_jargon("We train the DDPG agent as Saharia did.")
    data = report.to_dict(with_candidates=True)
    assert data["undefined"] == ["DDPG"] and data["candidates"] == ["Saharia"]
    assert [(t["term"], t["candidate"]) for t in data["terms"]] == [("DDPG", False), ("Saharia", True)]
    assert "candidates" not in report.to_dict()  # the JSON keeps its keys
    assert [s.term for s in highlight_spans(report)] == ["DDPG"]
    assert "1 to define at first use" in report.summary_lines()[0] and "Saharia" in report.summary_lines()[1]


def test_a_short_text_shows_at_most_three_flags_the_most_confident_first():
    draft = "We compare TRPO, DDPG, ACKTR, SVPG and QLoRA-style TD7 adapters."
    report = check_jargon(draft)
    everything = check_jargon(draft, audience=replace(ML_PEERS, words_per_flag=0))
    assert len(everything.undefined) >= 4
    assert len(report.undefined) == 3 and len(report.candidates) == len(everything.undefined) - 3
    assert min(t.confidence for t in report.undefined) >= max(t.confidence for t in report.candidates)


def test_readers_new_to_ml_see_every_candidate_as_a_flag():
    draft = "We train the DDPG agent as Saharia did, and it works reeaally well."
    newcomer = check_jargon(draft, audience="software engineers new to ML")
    assert check_jargon(draft).candidates  # peers: the name and the typo are candidates
    assert newcomer.candidates == () and {"DDPG", "Saharia", "reeaally"} <= {t.term for t in newcomer.undefined}


def test_a_slip_of_the_pen_near_a_word_the_text_or_ml_writing_uses_is_no_term():
    draft = ("The Wasserstein distance is smooth. The Wasserstein GAN uses it. We stack feedfoward networks and compare "
             "SimCES with SimCSE and SimCSE variants. The Wassertstein critic is clipped. A ranker model reranks.")
    terms = {t.term for t in check_jargon(draft).terms}
    assert not terms & {"Wassertstein", "feedfoward networks", "SimCES"}
    assert "ranker" in {t.key for t in check_jargon('The "ranker" model is one.').terms}  # an ending, not a slip
    # A name built on another by one letter is a name: xLSTM beside LSTM.
    assert "xlstm" in {t.key for t in check_jargon("We compare an LSTM with xLSTM, as LSTM runs are cheap.").terms}


def test_a_venue_with_its_year_is_no_term_but_the_same_shape_elsewhere_is():
    draft = "See Schaul et al, ICML 2015, and Jain et al., CVPR'16. We train with DDPG on the arm."
    keys = {t.key for t in check_jargon(draft).terms}
    assert "icml" not in keys and "cvpr" not in keys and "ddpg" in keys


def test_a_term_shaped_after_a_name_is_the_name():
    known = check_jargon("We train a GPT-2-like model on text.")
    assert known.terms == ()  # GPT-2 is known to peers, so a GPT-2-like model is too
    unknown = check_jargon("We use a MADE-type layer. MADE then masks the weights.")
    assert [t.key for t in unknown.terms] == ["made"]


def test_a_whole_article_shows_only_its_surest_flags_and_a_short_text_at_least_three():
    from engine.check.jargon import panel_limits

    assert panel_limits(ML_PEERS, 300) == (ML_PEERS.min_confidence, ML_PEERS.min_flags)
    assert panel_limits(ML_PEERS, 4500) == (ML_PEERS.long_text_confidence, 3)  # one per 2,000 words, no floor
    assert panel_limits(ML_PEERS, 1200) == (ML_PEERS.long_text_confidence, 1)
    filler = "\n\n".join(["Our cats sleep in the sun all day, and the dogs bark at every passing car."] * 80)
    short = "We compare TRPO, DDPG, ACKTR and SVPG."
    article = check_jargon(f"{short}\n\n{filler}\n")
    assert len(check_jargon(short).undefined) == 3
    assert all(t.confidence >= ML_PEERS.long_text_confidence for t in article.undefined)
    assert len(article.undefined) < 3 and len(article.candidates) >= 2


def test_a_name_in_code_font_spelled_out_in_brackets_is_its_definition():
    draft = ("We normalise with RMSNorm before attention. The optimiser is Adam.\n\nBatches hold 32 documents.\n\n"
             "Later, `rmsnorm` (Root Mean Square Normalization) rescales a vector to unit root-mean-square.\n")
    term_result = term(check_jargon(draft), "RMSNorm")
    assert term_result.status == "defined_late" and term_result.definition_line == 5
    assert term(check_jargon("We apply `rmsnorm` (Root Mean Square Normalization) to each RMSNorm input."),
                "RMSNorm").status == "defined"
    assert term(check_jargon("We normalise with RMSNorm before attention. The optimiser is Adam.\n\n"
                             "Batches hold 32 documents.\n"), "RMSNorm").status == "undefined"


def test_a_phrase_research_abstracts_use_widely_is_known_to_peers_but_not_to_newcomers():
    draft = "We compare it with a frontier model, and rely on paged attention for serving."
    peers = {t.key for t in check_jargon(draft).terms}
    assert "frontier model" not in peers and "paged attention" in peers  # 515 abstracts against 3
    assert "frontier model" in {t.key for t in check_jargon(draft, audience="software engineers new to ML").terms}


def test_a_phrase_opening_a_sentence_in_sentence_case_is_not_read_as_a_name():
    assert "scaling law" not in {t.key for t in check_jargon("Scaling laws predict the loss from compute.").terms}
    from engine.check.jargon import _sentence_case_words

    assert _sentence_case_words("Scaling laws") and not _sentence_case_words("Langevin dynamics")
    assert not _sentence_case_words("Monte Carlo") and not _sentence_case_words("Softmax")
