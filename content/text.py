"""Text normalisation shared by the grader and the topic search.

Both sides of every comparison (a key term and a learner's reply, a query and the bank) go
through the same `tokenize`, so spelling variants only have to be handled once, here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Filler words carry no idea of their own. Dropping them lets "prevents the model from
# overfitting" match the alias "prevent overfitting". Negators are deliberately absent:
# the grader needs to see them.
STOPWORDS = frozenset(
    """
    a an the of to in on at for by with from into onto as is are was were be been being am
    it its this that these those there their they them he she we you your our his her i me my
    and or so than then also very just really quite much more most some any each every
    which who whom whose what when where why how do does did can could would should will
    shall may might must has have had having about like such via per
    """.split()
)

NEGATORS = frozenset({"not", "no", "never", "neither", "nor", "cannot"})

# A word: letters/digits (any script). Clause punctuation is kept as a separate token so the
# grader can stop a negation at a clause boundary ("no dropout; batch norm ..." ).
_TOKEN_RE = re.compile(r"[^\W_]+|[.;:!?,()\[\]\n]", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NT_RE = re.compile(r"(\w)n't\b")

# British -ise/-isation spellings are folded to -ize/-ization before stemming; applied to both
# sides, so only the consistency matters, not linguistic accuracy.
_BRITISH_RE = re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations|er|ers)$")

_stemmer = snowballstemmer.stemmer("english")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its normalised form, its stem and where it sits in the text."""

    norm: str
    stem: str
    start: int
    end: int
    index: int  # position among all tokens, punctuation included
    clause: int  # clause number: negation never crosses a clause boundary


def normalize(text: str) -> str:
    """NFKC + casefold + straight apostrophes; `n't` becomes ` not` so negation is one token."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = _NT_RE.sub(r"\1 not", text.casefold())
    return text.replace("cannot", "can not")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem after folding British spellings (regularisation -> regular)."""
    return _stemmer.stemWord(_BRITISH_RE.sub(r"iz\1", word))


def tokenize(text: str) -> list[Token]:
    """Split normalised `text` into word tokens with offsets into the normalised string.

    Punctuation tokens are consumed to number clauses and are not returned.
    """
    tokens: list[Token] = []
    clause = 0
    index = 0
    for m in _TOKEN_RE.finditer(text):
        word = m.group()
        if word == "but" or not word[0].isalnum():
            clause += 1
            index += 1
            continue
        tokens.append(Token(word, stem(word), m.start(), m.end(), index, clause))
        index += 1
    return tokens


def content_words(text: str) -> list[str]:
    """Normalised non-filler words of `text`, in order (used to prepare terms and queries)."""
    return [t.norm for t in tokenize(normalize(text)) if t.norm not in STOPWORDS]


def max_typos(word: str) -> int:
    """How many edits a word of this length may carry and still count (0 for short words)."""
    n = len(word)
    if n <= 3:
        return 0
    if n <= 6:
        return 1
    if n <= 11:
        return 2
    return 3
