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
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

VOCABULARY_FILE = Path(__file__).resolve().parent / "vocabulary.toml"
WORD_GROUPS = ("abbreviations", "spelling", "paraphrases")
_KEYS = {"notation", *WORD_GROUPS}

# Notation that is a pattern rather than a fixed symbol (the fixed symbols live in the data file).
# Applied after lower-casing. The replacement pads with spaces so words never glue together.
_PATTERNS = (
    (re.compile(r"(?:\|\||‖)\s*([a-z0-9θ]+)\s*(?:\|\||‖)"), r" norm of \1 "),  # ||w||, ‖w‖
    (re.compile(r"\|\s*([a-z0-9θ]+)\s*\|"), r" absolute value of \1 "),  # |w|
    (re.compile(r"(?<![a-z])[d∂]\s*(?:l|loss|e|j|c)\s*/\s*[d∂]\s*([a-z0-9θ]+)"), r" gradient of loss wrt \1 "),  # dL/dw
)
_PATTERN_TRIGGER = re.compile(r"[|‖/]")


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
    problems: list[VocabularyProblem] = field(default_factory=list)


def read_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    vocab = Vocabulary()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        vocab.problems.append(VocabularyProblem(f"cannot read: {exc}"))
        return vocab
    for key in sorted(set(data) - _KEYS):
        vocab.problems.append(VocabularyProblem(f"unknown key {key!r} (use: {', '.join(sorted(_KEYS))})"))
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

def _notation_table(vocab: Vocabulary) -> tuple[re.Pattern | None, dict[str, str]]:
    table: dict[str, str] = {}
    for words, symbols in vocab.notation:
        for symbol in symbols:
            table[symbol] = f" {words} "
            table.setdefault(symbol.lower(), f" {words} ")
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
    return _NOTATION_RE.sub(lambda m: _NOTATION.get(m.group(), _NOTATION.get(m.group().lower(), m.group())), text)


def replace_patterns(text: str) -> str:
    """|w|, ||w||, dL/dw (after lower-casing)."""
    if not _PATTERN_TRIGGER.search(text):
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def has_symbols(text: str) -> bool:
    return _NOTATION_RE is not None and _NOTATION_RE.search(text) is not None


# --- word groups ------------------------------------------------------------------------------

class Phrasebook:
    """Word groups indexed by the stem of their first word; each entry (stems, canonical words).

    Built on first use (it needs the stemmer from content.text).
    """

    def __init__(self, vocab: Vocabulary):
        from .text import normalize, stem, tokenize

        self.first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
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
                words = tuple(t.norm for t in tokenize(normalize(form)))
                if not words:
                    self.problems.append(VocabularyProblem(f"{kind}: form {form!r} of {canonical!r} has no words"))
                    continue
                self.words.update(words)
                stems = tuple(stem(w) for w in words)
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

    def rewrite(self, words: list[str], stems: list[str], sentences: list[int] | None = None):
        """Replace every form in `words` by its canonical words.

        Returns (new words, source) where source[k] = (first, last) index into `words` of the
        words new word k stands for; None when nothing changed (the common case).
        """
        first = self.first
        hits = [i for i, s in enumerate(stems) if s in first]
        if not hits:
            return None
        out: list[str] = []
        source: list[tuple[int, int]] = []
        i = n = 0
        total = len(words)
        for h in hits:
            if h < i:
                continue
            for form_stems, canon in first[stems[h]]:
                k = len(form_stems)
                if h + k > total or tuple(stems[h : h + k]) != form_stems:
                    continue
                if sentences is not None and sentences[h] != sentences[h + k - 1]:
                    continue
                for j in range(i, h):
                    out.append(words[j])
                    source.append((j, j))
                for w in canon:
                    out.append(w)
                    source.append((h, h + k - 1))
                i = h + k
                n += 1
                break
        if not n:
            return None
        for j in range(i, total):
            out.append(words[j])
            source.append((j, j))
        return out, source


@lru_cache(maxsize=1)
def phrasebook() -> Phrasebook:
    return Phrasebook(VOCABULARY)


def canonical_text_words(words: list[str]) -> list[str]:
    """`words` (normalised) with vocabulary forms replaced: how an alias is read."""
    from .text import stem

    book = phrasebook()
    result = book.rewrite(words, [stem(w) for w in words])
    return words if result is None else result[0]
