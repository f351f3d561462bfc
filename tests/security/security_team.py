"""The team instance's people and ana's private upload: the material every security test tries to reach."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
SECRET_TITLE = "Quokka Attention Private Findings"
SECRET_AUTHOR = "Anastasia Secretauthor"
SECRET_VENUE = "HiddenConf"
SECRET_ARXIV = "2401.99991"
SECRET_SENTENCE = ("Quokka attention shrinks the key value cache by 37.5 percent on the Wombat benchmark "
                   "while keeping perplexity within 0.2 points of full attention")
SECRET_PAPER = (f"---\ntitle: {SECRET_TITLE}\nauthors: [{SECRET_AUTHOR}]\nyear: 2024\nvenue: {SECRET_VENUE}\n"
                f"arxiv: {SECRET_ARXIV}\n---\n## Quokka attention\n\n{SECRET_SENTENCE}. Quokka attention groups "
                "query heads by marsupial routing and evicts cold keys after 4096 tokens.\n")
# ana's unshared article: its title and text are hers alone too.
SECRET_ARTICLE_TITLE = "Ana's unpublished quokka essay"
SECRET_ARTICLE_TEXT = "ANA-ARTICLE-BODY: a draft nobody else may read."
# What must never reach anyone but ana: each string appears only in her private upload or her article.
SECRETS = (SECRET_TITLE, SECRET_AUTHOR, SECRET_VENUE, SECRET_ARXIV, "Wombat benchmark", "marsupial routing",
           SECRET_ARTICLE_TITLE, "ANA-ARTICLE-BODY")
