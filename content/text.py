"""Text normalisation shared by the grader and the topic search.

Both sides of every comparison (a key term and a learner's reply, a query and the bank) go
through the same `tokenize`, so spelling variants only have to be handled once, here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import snowballstemmer

from .vocabulary import has_symbols, replace_patterns, replace_symbols

# Filler words carry no idea of their own. Dropping them lets "prevents the model from
# overfitting" match the alias "prevent overfitting". Negators are deliberately absent:
# the grader needs to see them.
STOPWORDS = frozenset(  # a readable word list (docs/CONTENT.md quotes it), hence the noqa
    """
    a an the of to in on at for by with from into onto as is are was were be been being am
    it its this that these those there their they them we you your our his her i me my
    and or so than then also very just really quite much more most some any each every
    which who whom whose what when where why how do does did can could would should will
    shall may might must has have had having about like such via per but
    """.split()  # noqa: SIM905
)

# Words that start a new clause in chat-style replies typed without commas ("grads vanish so
# use relu", "doesnt vanish because of the skip"): a negation before them does not reach past them.
CLAUSE_WORDS = frozenset({
    "but", "and", "so", "because", "since", "while", "whereas", "although", "though", "however",
    "instead", "then", "unless", "otherwise", "hence", "thus", "therefore", "which", "whereby", "plus",
})

NEGATORS = frozenset(
    {"not", "no", "never", "neither", "nor", "cannot", "nothing", "none", "without"}
    # contractions typed without the apostrophe, as people do on phones
    | {"dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "couldnt", "wont",
       "wouldnt", "shouldnt", "hasnt", "havent", "hadnt", "aint"}
)

# How far (in content words) a negator reaches when it is not the default NEGATION_WINDOW of the
# grader: "without" governs its object only ("without them, stacking layers is linear").
NEGATOR_REACH = {"without": 1}

# A word: letters/digits (any script). Clause punctuation is kept as a separate token so the
# grader can stop a negation at a clause boundary ("no dropout; batch norm ..." ).
# A full stop ends a sentence only before white space or the end ("0.5", "w.x" stay inside one).
_TOKEN_RE = re.compile(r"[^\W_]+|\.(?=\s|$)|[;:!?,()\[\]\n]", re.UNICODE)
# The same tokens in normalised (lower-case) ASCII text, where a word is [a-z0-9]+: a third faster.
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+|\.(?=\s|$)|[;:!?,()\[\]\n]")
# The same tokens once more, by str methods (C) instead of the regex engine, whose cost per match
# is most of `scan` on a long reply: sentence-ending dots and the other punctuation become tokens
# of their own (padded with spaces), every other character that is no word character becomes a
# space, and str.split does the rest. Stand-ins: a sentence-ending "." (a "." inside "0.5" is
# no token) and "\n" (white space to str.split).
_END_DOT_RE = re.compile(r"\.(?=\s|$)")
_PUNCTUATION = ";:!?,()[]"
_DOT, _NEWLINE = "\x01", "\x02"
_NON_WORD = str.maketrans({c: " " for c in map(chr, range(128))
                           if not (c.isalnum() or c.isspace() or c in _PUNCTUATION or c in (_DOT, _NEWLINE))})
_BREAKS = frozenset(".;:!?,()[]\n" + _DOT + _NEWLINE)  # the tokens that are no word
_ABBREVIATIONS = (("e.g.", "eg"), ("i.e.", "ie"), ("etc.", "etc"), ("vs.", "vs"))
_SENTENCE_ENDS = frozenset(".;:!?\n" + _DOT + _NEWLINE)
_CURLY = ("\u2019", "\u2018", "\u02bc")
_NT_RE = re.compile(r"(\w)n't\b")
_COMBINING_RE = re.compile("[\u0300-\u036f]")

# British -ise/-isation spellings are folded to -ize/-ization before stemming; applied to both
# sides, so only the consistency matters, not linguistic accuracy.
_BRITISH_RE = re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations|er|ers)$")

_stemmer = snowballstemmer.stemmer("english")
if hasattr(_stemmer, "maxCacheSize"):  # PyStemmer keeps its own cache of every word; ours is bounded by size too
    _stemmer.maxCacheSize = 0


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
    """Notation to words, NFKC, casefold, straight apostrophes; `n't` becomes ` not` so negation is one token.

    Symbols of the shared vocabulary ("²", "Σ", "->", "|w|", "dL/dw") are replaced first: NFKC
    would turn "²" into "2", and case folding would merge Σ (sum) with σ (sigma).
    """
    if has_symbols(text):
        text = replace_symbols(text)
    if text.isascii():  # ASCII is already NFKC, and has no curly apostrophes
        text = text.lower()  # casefold() of ASCII, faster
    else:
        text = unicodedata.normalize("NFKC", text)
        for curly in _CURLY:  # str.replace runs in C; a translate table with a dict is slower
            text = text.replace(curly, "'")
        text = text.casefold()
        if _COMBINING_RE.search(text):  # x̂, ŷ: the hat is notation, the letter is the word
            text = _COMBINING_RE.sub("", text)
    text = replace_patterns(text)
    if "n't" in text:
        text = text.replace("can't", "can not").replace("won't", "will not")
        text = _NT_RE.sub(r"\1 not", text)
    for abbreviation, word in _ABBREVIATIONS:  # their dots do not end a sentence
        if abbreviation in text:
            text = text.replace(abbreviation, word)
    return text.replace("cannot", "can not")


def stem(word: str) -> str:
    """Snowball stem after folding British spellings (regularisation -> regular), cached for real words."""
    if len(word) > MAX_CACHED_WORD:
        return cast(str, _stemmer.stemWord(_BRITISH_RE.sub(r"iz\1", word)))
    return _cached_stem(word)


@lru_cache(maxsize=65536)
def _cached_stem(word: str) -> str:
    """Snowball stem after folding British spellings (regularisation -> regular)."""
    return cast(str, _stemmer.stemWord(_BRITISH_RE.sub(r"iz\1", word)))


def tokenize(text: str) -> list[Token]:
    """Split normalised `text` into word tokens with offsets into the normalised string.

    Punctuation tokens are consumed to number clauses and are not returned.
    """
    tokens: list[Token] = []
    clause = 0
    index = 0
    for m in _TOKEN_RE.finditer(text):
        word = m.group()
        if not word[0].isalnum():
            clause += 1
            index += 1
            continue
        if word in CLAUSE_WORDS:
            clause += 1
        tokens.append(Token(word, stem(word), m.start(), m.end(), index, clause))
        index += 1
    return tokens


_STEMS: dict[str, str] = {}
MAX_CACHED_WORD = 40  # no real word is longer; caching longer "words" would let junk grow memory


def fast_stem(word: str) -> str:
    """`stem` through a plain dict: the grader's hot path calls it for every word of a reply."""
    hit = _STEMS.get(word)
    if hit is None:
        if len(word) > MAX_CACHED_WORD:  # junk: stem it, but never keep it
            return cast(str, _stemmer.stemWord(_BRITISH_RE.sub(r"iz\1", word)))
        if len(_STEMS) > 200_000:  # bounded: arbitrary input must not grow memory forever
            _STEMS.clear()
        hit = _STEMS[word] = stem(word)
    return hit


def scan(text: str) -> tuple[list[str], list[int], list[int]]:
    """Words of normalised `text`, the clause and the sentence of each — the fast path of `tokenize`.

    A comma ends a clause (negation scope), and so does a clause word, which starts the next one;
    `. ; : ! ?` and new lines end a sentence too (a multi-word term must not be assembled from
    two sentences). `findall` runs in C and is most of the cost (splitting into sentences and
    clauses with regular expressions first was measured slower); offsets are not computed here
    (see `word_spans`): the grader needs only a few.
    """
    words: list[str] = []
    clauses: list[int] = []
    sentences: list[int] = []
    clause = sentence = 0
    ascii_lower = text.isascii() and text.islower()  # normalised text always is, unless it is not ASCII
    if ascii_lower and _DOT not in text and _NEWLINE not in text:
        pieces = _ascii_pieces(text)
    else:
        pieces = (_ASCII_TOKEN_RE if ascii_lower else _TOKEN_RE).findall(text)
    for piece in pieces:
        if piece in _BREAKS:
            clause += 1
            if piece in _SENTENCE_ENDS:
                sentence += 1
            continue
        if piece in CLAUSE_WORDS:
            clause += 1
        words.append(piece)
        clauses.append(clause)
        sentences.append(sentence)
    return words, clauses, sentences


# A sentence that opens with one of these and ends with "?" asks, it does not state: "is this
# the same as a transformer encoder?", "what does the temperature do?". The auxiliaries also ask
# without the mark when a pronoun follows and the sentence ends the reply ("can u explain it").
QUESTION_OPENERS = frozenset({"what", "whats", "why", "how", "which", "who", "whom", "whose"})
QUESTION_AUXILIARIES = frozenset({
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "would", "should", "will", "shall",
    "isnt", "arent", "doesnt", "dont", "didnt", "cant", "wouldnt", "shouldnt",
})
_ASKED_OF = frozenset({"u", "you", "we", "i", "this", "that", "it", "they", "there", "these", "those", "ya", "someone"})
# A question that offers an explanation is a tentative answer, not a question: "is it because
# the gradients vanish?" states that they vanish (an auxiliary, "it"/"that", then one of these).
_TENTATIVE = frozenset({"because", "bc", "cause", "coz", "cuz", "since", "due", "when"})
# Interjections before a question ("wait, is this ...?", "hmm so what does ...?") are skipped.
_INTERJECTIONS = frozenset({"wait", "hmm", "hm", "um", "uh", "ok", "okay", "so", "and", "but", "sorry", "lol", "hi", "hey",
                            "hello", "oh", "ah", "also", "btw", "actually", "honestly", "sir", "then"})


def question_sentences(text: str) -> set[int]:
    """Sentence numbers (as `scan` counts them) of the questions in normalised `text`: a
    sentence opening with a question word or an auxiliary ("is", "can", "does", ...) and ending
    with "?", or opening with an auxiliary and a pronoun and ending the text ("can u explain
    what iid means"). Empty for most replies (no "?" and no auxiliary first)."""
    first = text.lstrip()[:6].split(" ", 1)[0]
    if "?" not in text and first not in QUESTION_AUXILIARIES:
        return set()
    asked: set[int] = set()
    sentence = 0
    opening: list[str] = []  # the first three words of the current sentence
    for piece in _TOKEN_RE.findall(text):
        if piece in _SENTENCE_ENDS:
            if piece == "?" and _asks(opening):
                asked.add(sentence)
            sentence += 1
            opening = []
        elif piece not in _BREAKS and len(opening) < 3 and (opening or piece not in _INTERJECTIONS):
            opening.append(piece)
    if len(opening) >= 2 and opening[0] in QUESTION_AUXILIARIES and opening[1] in _ASKED_OF and _asks(opening):
        asked.add(sentence)
    return asked


def _asks(opening: list[str]) -> bool:
    """Whether a sentence opening this way asks (see `question_sentences`)."""
    if not opening or (opening[0] not in QUESTION_OPENERS and opening[0] not in QUESTION_AUXILIARIES):
        return False
    return not (len(opening) == 3 and opening[1] in ("it", "that") and opening[2] in _TENTATIVE)


def _ascii_pieces(text: str) -> list[str]:
    """`_ASCII_TOKEN_RE.findall(text)` for lower-case ASCII `text` without the stand-ins, except
    that a sentence-ending "." reads `_DOT` and a new line `_NEWLINE` (see `_NON_WORD`)."""
    if "." in text:
        text = _END_DOT_RE.sub(" " + _DOT + " ", text)  # before the new lines are replaced: "\n" ends a sentence
    for mark in _PUNCTUATION:
        if mark in text:
            text = text.replace(mark, f" {mark} ")
    if "\n" in text:
        text = text.replace("\n", f" {_NEWLINE} ")
    return text.translate(_NON_WORD).split()


def word_spans(text: str, words: list[str], upto: int) -> list[tuple[int, int]]:
    """(start, end) offsets of `words[0..upto]` (as returned by `scan`) in `text`.

    Between two words there are only non-word characters, so the next occurrence of a word
    after the previous one's end is that word itself: `str.find` is enough, no regex.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    find = text.find
    for word in words[: upto + 1]:
        start = find(word, pos)
        pos = start + len(word)
        spans.append((start, pos))
    return spans


def content_words(text: str) -> list[str]:
    """Normalised non-filler words of `text`, in order (used to prepare terms and queries)."""
    return [t.norm for t in tokenize(normalize(text)) if t.norm not in STOPWORDS]


def max_typos(word: str) -> int:
    """How many edits a word of this length may carry and still count (0 for short words)."""
    n = len(word)
    if n <= 4:
        return 0
    if n <= 8:
        return 1
    if n <= 12:
        return 2
    return 3
