"""The shared vocabulary (content/vocabulary.toml): one set of equivalences for the whole bank.

Two layers, both applied to every reply *and* every alias, so a new question benefits without
new aliases:

- **notation** — symbols replaced in the raw text before it is split into words ("g²" → "g
  squared", "Σ" → "sum", "|w|" → "absolute value of w", "dL/dw" → "gradient of loss");
- **word groups** (abbreviations, spelling variants, paraphrases) — a sequence of words
  replaced by the group's canonical form ("BN" → "batch normalization", "lr" → "learning
  rate", "dim reduction" → "dimensionality reduction"). Forms are compared by stem, so plurals
  and word forms come free ("GANs", "NNs"); the longest form wins.

The loader returns problems (a form in two groups, a malformed entry) instead of raising, so
`content check` can report them next to the bank's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from pathlib import Path
from typing import Any

import rtoml

VOCABULARY_FILE = Path(__file__).resolve().parent / "vocabulary.toml"
WORD_GROUPS = ("abbreviations", "spelling", "paraphrases")
_KEYS = {"notation", "opposites", *WORD_GROUPS}

# Notation that is a pattern rather than a fixed symbol (the fixed symbols live in the data file).
# Applied after lower-casing. The replacement pads with spaces so words never glue together.
_PATTERNS = (
    # (a cheap test that the pattern may occur, the pattern, its replacement)
    (("||", "‖"), re.compile(r"(?:\|\||‖)\s*([a-z0-9θ]+)\s*(?:\|\||‖)"), r" norm of \1 "),  # ||w||, ‖w‖
    (("|",), re.compile(r"\|\s*([a-z0-9θ]+)\s*\|"), r" absolute value of \1 "),  # |w|
    (("/d", "/ d", "/∂", "/ ∂"), re.compile(r"(?<![a-z])[d∂]\s*(?:l|loss|e|j|c)\s*/\s*[d∂]\s*([a-z0-9θ]+)"),
     r" gradient of loss wrt \1 "),  # dL/dw
)


# What reading a content file (TOML) may raise: the loaders report it as a problem of that file.
TOML_ERRORS = (OSError, UnicodeDecodeError, rtoml.TomlParsingError)


def read_toml(path: Path) -> dict[str, Any]:
    """A content file parsed. rtoml (Rust) reads the bank's 600 kB in about 7 ms where the
    standard library's tomllib (pure Python) takes 70, a third of the bot's start."""
    return rtoml.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class VocabularyProblem:
    message: str

    def __str__(self) -> str:
        return f"{VOCABULARY_FILE.name}: {self.message}"


@dataclass
class Vocabulary:
    """The parsed data file: notation pairs and word groups (canonical form first)."""

    notation: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    groups: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # (kind, canonical, forms)
    opposites: list[tuple[str, str]] = field(default_factory=list)  # word pairs that reverse a claim
    problems: list[VocabularyProblem] = field(default_factory=list)


def read_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    vocab = Vocabulary()
    try:
        data = read_toml(path)
    except TOML_ERRORS as exc:
        vocab.problems.append(VocabularyProblem(f"cannot read: {exc}"))
        return vocab
    for key in sorted(set(data) - _KEYS):
        vocab.problems.append(VocabularyProblem(f"unknown key {key!r} (use: {', '.join(sorted(_KEYS))})"))
    for entry in data.get("opposites", []):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) and x.strip() and " " not in x.strip() for x in entry)):
            vocab.problems.append(VocabularyProblem(f"opposites: {entry!r} must be a pair of single words"))
            continue
        vocab.opposites.append((entry[0].strip().lower(), entry[1].strip().lower()))
    for kind in ("notation", *WORD_GROUPS):
        for entry in data.get(kind, []):
            if not (isinstance(entry, list) and len(entry) >= 2 and all(isinstance(x, str) and x.strip() for x in entry)):
                vocab.problems.append(VocabularyProblem(f"{kind}: {entry!r} must be a list of two or more strings"))
                continue
            canonical, *forms = entry
            if kind == "notation":
                vocab.notation.append((canonical.strip(), tuple(forms)))
            else:
                vocab.groups.append((kind, canonical.strip(), tuple(f.strip() for f in forms)))
    return vocab


VOCABULARY = read_vocabulary()


# --- notation: symbols in the raw text -------------------------------------------------------

def _notation_table(vocab: Vocabulary) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    table: dict[str, str] = {}
    for words, symbols in vocab.notation:
        # a word is padded so it never glues to its neighbours; a one-character stand-in ("-" for
        # the minus sign, "d" for ∂) is not, so "∂L/∂w" still reads "dL/dw"
        out = words if len(words) == 1 else f" {words} "
        for symbol in symbols:
            table[symbol] = out
            table.setdefault(symbol.lower(), out)
    if not table:
        return None, table
    # Longest symbol first, so "**2" wins over "*".
    pattern = re.compile("|".join(re.escape(s) for s in sorted(table, key=len, reverse=True)))
    return pattern, table


_NOTATION_RE, _NOTATION = _notation_table(VOCABULARY)


def replace_symbols(text: str) -> str:
    """Fixed symbols (before case folding, so Σ and σ stay apart)."""
    if _NOTATION_RE is None:
        return text
    return _NOTATION_RE.sub(_notation_of, text)


def _notation_of(match: re.Match[str]) -> str:
    return _NOTATION[match[0]]  # the pattern is the table's symbols, literally: every match is a key


def replace_patterns(text: str) -> str:
    """|w|, ||w||, dL/dw (after lower-casing)."""
    if "|" not in text and "/" not in text and "‖" not in text:  # most texts: nothing to do
        return text
    for triggers, pattern, repl in _PATTERNS:
        if any(t in text for t in triggers):
            text = pattern.sub(repl, text)
    return text


def has_symbols(text: str) -> bool:
    return _NOTATION_RE is not None and _NOTATION_RE.search(text) is not None


# --- word groups ------------------------------------------------------------------------------

# A word group's form as the phrasebook looks it up: (the stems of its words, the canonical words).
_Entry = tuple[tuple[str, ...], tuple[str, ...]]


class Phrasebook:
    """Word groups indexed by the stem of their first word; each entry (stems, canonical words).

    Built on first use (it needs the stemmer from content.text).
    """

    def __init__(self, vocab: Vocabulary):
        from .text import normalize, stem, tokenize

        self.first: dict[str, list[_Entry]] = {}
        self._starts: dict[str, list[_Entry]] = {}  # reply word -> the forms that may start at it
        self._others: set[str] = set()  # reply words no form starts with
        self.words: set[str] = set()  # every word of every form and canonical: the domain vocabulary
        self.problems: list[VocabularyProblem] = list(vocab.problems)
        owner: dict[tuple[str, ...], str] = {}
        for kind, canonical, forms in vocab.groups:
            canon_words = tuple(t.norm for t in tokenize(normalize(canonical)))
            if not canon_words:
                self.problems.append(VocabularyProblem(f"{kind}: {canonical!r} has no words"))
                continue
            self.words.update(canon_words)
            texts = [canonical, *forms]
            for form in forms:
                words = [t.norm for t in tokenize(normalize(form))]
                if len(words) == 2:  # "batch norm" is also typed "batchnorm"
                    texts.append(words[0] + words[1])
                if words and len(words[-1]) <= 4 and not words[-1].endswith("s"):  # acronym plurals: "NNs", "GANs"
                    texts.append(form + "s")
            for form in texts:
                form_words = tuple(t.norm for t in tokenize(normalize(form)))
                if not form_words:
                    self.problems.append(VocabularyProblem(f"{kind}: form {form!r} of {canonical!r} has no words"))
                    continue
                self.words.update(form_words)
                stems = tuple(stem(w) for w in form_words)
                if stems in owner:
                    problem = VocabularyProblem(f"{kind}: form {form!r} belongs to two groups: {owner[stems]!r} and {canonical!r}")
                    if owner[stems] != canonical and (form in forms or form == canonical) and problem not in self.problems:
                        self.problems.append(problem)
                    continue
                owner[stems] = canonical
                if stems != tuple(stem(w) for w in canon_words):  # rewriting a word to itself is wasted work
                    self.first.setdefault(stems[0], []).append((stems, canon_words))
        for entries in self.first.values():
            entries.sort(key=lambda e: -len(e[0]))  # longest form first

    def _classify(self, words: set[str]) -> None:
        """Sort words not seen before into forms' first words and others (bounded caches)."""
        from .text import fast_stem

        if len(self._starts) + len(self._others) > 200_000:  # arbitrary input must not grow memory forever
            self._starts.clear()
            self._others.clear()
        for w in words:
            entries = self.first.get(fast_stem(w))
            if entries:
                self._starts[w] = entries
            elif len(w) <= 40:  # no real word is longer: junk is looked up again, never kept
                self._others.add(w)

    def rewrite(self, words: list[str], sentences: list[int] | None = None) -> tuple[list[str], tuple[list[int], list[int]]] | None:
        """Replace every form in `words` by its canonical words.

        Returns (new words, (first, last)) where first[k]..last[k] are the indexes into `words`
        of the words new word k stands for; None when nothing changed (the common case). Each distinct
        word is classified once per process (set operations in C after that), so a long reply
        costs little more than a short one.
        """
        starts, others = self._starts, self._others
        if len(words) < 16:  # an alias: plain lookups beat building sets
            if others.issuperset(words):  # most aliases: every word known, none starts a form
                return None
            new = {w for w in words if w not in starts and w not in others}
            if new:
                self._classify(new)
            hits = {w for w in words if w in starts}
        else:
            distinct = set(words)
            new = distinct - others
            new.difference_update(starts)
            if new:
                self._classify(new)
            hits = distinct.intersection(starts)
        if not hits:
            return None
        from .text import fast_stem

        out: list[str] = []
        first_of: list[int] = []  # per new word: the first and last old word it stands for
        last_of: list[int] = []
        i = 0
        total = len(words)
        for h in list(compress(range(total), map(hits.__contains__, words))):  # where a form may start (C-level)
            if h < i:
                continue
            second = fast_stem(words[h + 1]) if h + 1 < total else None
            for form_stems, canon in starts[words[h]]:
                k = len(form_stems)
                if k > 1:
                    if form_stems[1] != second or h + k > total:
                        continue
                    if sentences is not None and sentences[h] != sentences[h + k - 1]:
                        continue
                    if k > 2 and any(fast_stem(words[h + j]) != form_stems[j] for j in range(2, k)):
                        continue
                out += words[i:h]
                first_of += range(i, h)
                last_of += range(i, h)
                out += canon
                first_of += [h] * len(canon)
                last_of += [h + k - 1] * len(canon)
                i = h + k
                break
        if not out:
            return None
        out += words[i:]
        first_of += range(i, total)
        last_of += range(i, total)
        return out, (first_of, last_of)


@lru_cache(maxsize=1)
def phrasebook() -> Phrasebook:
    return Phrasebook(VOCABULARY)


def canonical_text_words(words: list[str]) -> list[str]:
    """`words` (normalised) with vocabulary forms replaced: how an alias is read."""
    result = phrasebook().rewrite(words)
    return words if result is None else result[0]


@lru_cache(maxsize=1)
def opposites() -> dict[str, str]:
    """A word or its stem -> the word that reverses the claim it is part of ("increases" ->
    "decreases", "before" -> "after"), both ways; see `content.grading` (reversed claims)."""
    from .text import stem

    table: dict[str, str] = {}
    for a, b in VOCABULARY.opposites:  # the word as listed first ("upsamples" -> "downsamples"), then by stem
        table[a], table[b] = b, a
    for a, b in VOCABULARY.opposites:
        table.setdefault(stem(a), b)
        table.setdefault(stem(b), a)
    return table
