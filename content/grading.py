"""Grade a free-text reply against a question's rubric: core ideas, details, misconceptions.

The grader is deliberately explainable: it looks for each key idea (a term or one of its
aliases) in the reply, word by word, forgiving typos and word forms, after both sides went
through the shared vocabulary (content/vocabulary.toml). The verdict follows the examiner's
rule (docs/CONTENT.md, "How the verdict is decided"):

- correct: every core idea (all but one when there are four), none contradicted;
- partial: at least one core idea, or a clear part of the answer (PARTIAL_DETAILS details);
- incorrect: otherwise.

Details never block "correct"; they add to the score and show as "also worth saying".

Why not one rapidfuzz call over the whole reply? `partial_ratio` ignores word boundaries
("cat" scores 100 inside "concatenate"), and `token_set_ratio` is 100 whenever a term's words
appear anywhere. So fuzzing happens per word, between words of similar length that start with
the same letter, and phrases keep their word order within a small window.
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Literal, TypeGuard

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .bank import AliasToken, KeyTerm, Question, Variant
from .text import (
    MAX_CACHED_WORD,
    NEGATOR_REACH,
    NEGATORS,
    STOPWORDS,
    fast_stem,
    max_typos,
    normalize,
    question_sentences,
    scan,
    stem,
    word_spans,
)
from .vocabulary import opposites, phrasebook

Verdict = Literal["correct", "partial", "incorrect"]

# The thresholds, named once (exported by `content`):
MISSABLE_CORE_FROM = 4  # with this many core ideas or more, one of them may be missing for "correct"
PARTIAL_DETAILS = 2  # details that make a reply without any core idea "partial" (a clear part of the answer)
# A reply that gets as many ideas wrong as it gets core ideas right (minus this margin) is
# "incorrect": fluent but wrong, with the right vocabulary.
WRONG_MARGIN = 0
# ... where each idea it gets wrong counts this many times: a confident wrong claim outweighs a
# right one, so one idea wrong next to two right is "incorrect", next to three "partial".
WRONG_WEIGHT = 2
# A core idea more than half of whose words (of one phrasing) are in the reply is "stated in
# part": it completes "correct" on a question of up to this many core ideas, the others stated.
PARTLY_UP_TO = 3
PARTLY_CREDIT = 0.5  # of the idea's weight, in the score
CORE_SHARE = 0.8  # share of the score carried by the core ideas; details carry the rest
MAX_GAP = 2  # other content words allowed between two words of a multi-word alias
MISCONCEPTION_GAP = 1  # the same for a misconception: an opposite claim must be stated tightly
# A core idea's phrasing of this many words or more also matches with one inner word left out,
# when that word weighs at most this share of the phrasing's most specific word (see _soft_match).
SOFT_FROM = 3
SOFT_GENERIC = 0.5
NEGATION_WINDOW = 3  # content words before a match searched for "not", "no", "never", ... (same clause only)
# "can't overfit as easily" says "overfits less": a negation followed by one of these is a hedge.
HEDGES = frozenset({("as", "easily"), ("so", "easily"), ("that", "easily"), ("as", "much"), ("so", "much"),
                    ("that", "much"), ("as", "often"), ("as", "quickly"), ("as", "fast"), ("as", "badly")})
NEGATIVE_MEANING_SHARE = 0.2  # share of a term's variants carrying their own negation that makes it a "no X" idea
CONDITIONALS = frozenset({"if", "unless", "otherwise", "else", "whether"})
# A clause starting with one of these states a purpose: a negation in it names what is prevented.
PURPOSE_WORDS = frozenset({"so"})
# ... and so does a clause after one of these ending the previous one ("goal: no exploding grads").
PURPOSE_LEADS = frozenset({"goal", "aim", "purpose", "point", "why", "so"})
# A name compared, after one of these, is contrasted with what came before ("..., unlike the LSTM").
CONTRASTS = frozenset({"unlike", "instead", "than", "vs", "versus", "compared", "not", "rather"})
# A negation does not reach back past an example: "activations that don't saturate, like ReLU".
EXAMPLE_MARKS = frozenset({"like", "eg", "ie", "including"})
MIN_FUZZY_STEM = 6  # stems shorter than this collide too easily ("decod" ~ "decid") to be fuzzed
MAX_REPLY_CHARS = 10_000  # longer replies are graded on their first 10,000 characters
WORD_CACHE = 50_000  # distinct reply words remembered with the alias words they match (bounded memory)

# Where each word after the shared vocabulary came from: (first, last) index lists into the
# words it replaced (see Phrasebook.rewrite).
_Source = tuple[list[int], list[int]]
# Joined pairs of a reply (see _Reply.joined_pairs): one-word alias -> (first, second) content positions.
_Joined = dict[str, list[tuple[int, int]]]
# A variant prepared for matching (see _QuestionIndex): (variant, its word ids, the set of them,
# the norm a joined pair may stand for, the gap allowed between its words, whether it carries
# its own negation).
_Prepared = tuple[Variant, tuple[int, ...], frozenset[int], str | None, int, bool]


class _WordOffsets:
    """Character offsets of a graded reply's words, found on first use.

    Finding them walks the reply word by word (a tenth of the grading time), and the bot never
    needs them: a verdict names the terms, not where they were. `bot.cli grade` and disputes do.
    `source` maps a word after the shared vocabulary to the words of the text it replaced.
    """

    __slots__ = ("text", "words", "content", "source", "upto", "spans")

    def __init__(self, text: str, words: list[str], content: list[int], source: _Source | None, upto: int):
        self.text, self.words, self.content, self.source, self.upto = text, words, content, source, upto
        self.spans: list[tuple[int, int]] | None = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """(start, end) in the text of content words first..last."""
        if self.spans is None:
            self.spans = word_spans(self.text, self.words, self.upto)
        a, b = self.content[first], self.content[last]
        if self.source is not None:
            a, b = self.source[0][a], self.source[1][b]
        return self.spans[a][0], self.spans[b][1]


class TermMatch:
    """A key term found in the reply: which alias matched and where (offsets into `normalize(reply)`).

    `start`, `end` and `text` are worked out when first read (see _WordOffsets).
    """

    __slots__ = ("term", "alias", "_offsets", "_first", "_last")

    def __init__(self, term: str, alias: str, offsets: _WordOffsets, first: int, last: int):
        self.term, self.alias = term, alias
        self._offsets, self._first, self._last = offsets, first, last

    @property
    def start(self) -> int:
        return self._offsets.span(self._first, self._last)[0]

    @property
    def end(self) -> int:
        return self._offsets.span(self._first, self._last)[1]

    @property
    def text(self) -> str:
        start, end = self._offsets.span(self._first, self._last)
        return self._offsets.text[start:end]

    def _key(self) -> tuple[str, str, int, int, str]:
        return (self.term, self.alias, self.start, self.end, self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermMatch) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TermMatch(term={self.term!r}, alias={self.alias!r}, start={self.start}, end={self.end}, text={self.text!r})"


@dataclass(frozen=True, slots=True)
class Grade:
    """The verdict on one reply, with what decided it.

    `matched`/`missed` cover every key term (question order for `missed`); the core/detail
    split and the contradicted core ideas are what `explain` shows first.
    """

    question_id: str
    score: float
    verdict: Verdict
    matched: tuple[TermMatch, ...]
    missed: tuple[str, ...]
    negated: tuple[str, ...] = ()
    keyword_list: bool = False  # a bare list of terms that would otherwise be correct (capped at partial)
    reason: str = ""
    core_found: tuple[str, ...] = ()
    core_missed: tuple[str, ...] = ()
    details_found: tuple[str, ...] = ()
    details_missed: tuple[str, ...] = ()
    contradicted: tuple[str, ...] = ()  # core ideas the reply contradicts (a misconception stated, or negated)
    misconceptions: tuple[tuple[str, str], ...] = ()  # (term, the misconception as authored) stated by the reply
    core_partly: tuple[str, ...] = ()  # core ideas (also in core_missed) stated in part: most words of a phrasing

    @property
    def matched_terms(self) -> list[str]:
        return [m.term for m in self.matched]

    def to_dict(self) -> dict[str, object]:
        return {
            "question_id": self.question_id,
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "matched": [m.term for m in self.matched],
            "found": [{"term": m.term, "alias": m.alias, "text": m.text, "start": m.start, "end": m.end} for m in self.matched],
            "missed": list(self.missed),
            "negated": list(self.negated),
            "keyword_list": self.keyword_list,
            "reason": self.reason,
            "core_found": list(self.core_found),
            "core_missed": list(self.core_missed),
            "details_found": list(self.details_found),
            "details_missed": list(self.details_missed),
            "contradicted": list(self.contradicted),
            "misconceptions": [{"term": t, "said": m} for t, m in self.misconceptions],
            "core_partly": list(self.core_partly),
            "explanation": explain(self),
        }


def explain(grade: Grade) -> list[str]:
    """The verdict in plain sentences, core ideas first, then the details worth adding.

    Pure text, no markup: the `grade` CLI prints the lines, the bot escapes and formats them.
    """
    lines: list[str] = []
    if grade.reason:
        lines.append(f"{grade.verdict.capitalize()}: {grade.reason}.")
    if grade.core_found:
        lines.append("Core ideas you stated: " + ", ".join(grade.core_found) + ".")
    stated = dict(grade.misconceptions)
    for term in grade.contradicted:
        if term in stated:
            lines.append(f"Contradicted: {term} (you said something like “{stated[term]}”).")
        else:
            lines.append(f"Contradicted: {term} (your reply says it does not hold).")
    if grade.core_partly:
        lines.append("Stated in part: " + ", ".join(grade.core_partly) + ".")
    missing = [t for t in grade.core_missed if t not in grade.contradicted and t not in grade.core_partly]
    if missing:
        lines.append("Core ideas missing: " + ", ".join(missing) + ".")
    for term, said in grade.misconceptions:
        if term not in grade.contradicted:
            lines.append(f"Not quite: {term} (you said something like “{said}”).")
    if grade.keyword_list:
        lines.append("That is a list of keywords: explain how they fit together.")
    if grade.details_found:
        lines.append("Details you added: " + ", ".join(grade.details_found) + ".")
    if grade.details_missed:
        lines.append("Also worth saying: " + ", ".join(grade.details_missed) + ".")
    return lines


class _Reply:
    """A reply prepared once per grading: its words after the shared vocabulary, and its content
    (non-filler) words indexed by form."""

    __slots__ = ("text", "raw_words", "source", "words", "_scanned", "_clauses", "_sentences", "content",
                 "content_words", "by_norm", "asked")

    def __init__(self, text: str):
        self.text = text
        words, clauses, sentences = scan(text)
        self.raw_words = words
        self.asked = question_sentences(text)  # a question states nothing: its sentences credit nothing
        self.source: _Source | None = None  # see Phrasebook.rewrite
        if not NEGATORS.isdisjoint(words):
            words = _soften_hedged_negations(words, clauses) or words
        rewritten = phrasebook().rewrite(words, sentences)
        self._scanned = (clauses, sentences)
        self._clauses: list[int] | None = clauses
        self._sentences: list[int] | None = sentences
        if rewritten is not None:
            words, self.source = rewritten
            self._clauses = self._sentences = None  # mapped onto the new words on first use
        self.words = words
        # content[i] = index in self.words of the i-th non-filler word
        self.content = content = [wi for wi, w in enumerate(words) if w not in STOPWORDS]
        self.content_words = content_words = [words[wi] for wi in content]
        self.by_norm: dict[str, list[int]] = {}
        by_norm = self.by_norm
        for ci, w in enumerate(content_words):
            hit = by_norm.get(w)
            if hit is None:
                by_norm[w] = [ci]
            else:
                hit.append(ci)

    @property
    def clauses(self) -> list[int]:
        """Clause number of each word; after the vocabulary rewrote some words, worked out on
        first use (only a negation check needs them)."""
        if self._clauses is None:
            scanned = self._scanned[0]
            assert self.source is not None  # only None when the words were not rewritten
            self._clauses = [scanned[a] for a in self.source[0]]
        return self._clauses

    @property
    def sentences(self) -> list[int]:
        """Sentence number of each word (see `clauses`); only multi-word aliases need them."""
        if self._sentences is None:
            scanned = self._scanned[1]
            assert self.source is not None  # only None when the words were not rewritten
            self._sentences = [scanned[a] for a in self.source[0]]
        return self._sentences

    def match_tokens(self, among: frozenset[int] | None = None) -> dict[int, list[int]]:
        """For each alias word (of any question, or only those `among`) the reply has, the
        content positions where it has it.

        Works from the reply's side: each distinct reply word is looked up once (exact form,
        stem, plural of an acronym, then typos against alias words of similar length sharing
        its first letter), so the cost follows the reply's vocabulary, not the alias count.
        Alias words the reply does not have get no entry. `among`: a long reply matches some
        900 alias words of the whole bank, some 60 of the question graded; the others are
        skipped before any list is merged.
        """
        found: dict[int, list[int]] = {}
        cache = _ALIAS_WORDS.word_ids
        lookup = _ALIAS_WORDS.lookup
        keep = among.__contains__ if among is not None else None
        for w, cis in self.by_norm.items():
            ids: Iterable[int] | None = cache.get(w)
            if ids is None:
                ids = lookup(w)
            if keep is not None:
                ids = filter(keep, ids)
            for i in ids:
                hit = found.get(i)  # the reply's own (sorted) list, copied only when merged
                found[i] = cis if hit is None else sorted(hit + cis)
        return found

    def joined_pairs(self, joinable: frozenset[str]) -> _Joined:
        """Neighbouring words of one sentence written apart that form a one-word alias together
        ("batch norm" for "batchnorm"): one set lookup per word pair, in a comprehension."""
        pairs: _Joined = {}
        if not joinable:
            return pairs
        cw = self.content_words
        hits = [ci for ci, key in enumerate(map(str.__add__, cw, cw[1:])) if key in joinable]
        if hits:
            content, sentence = self.content, self.sentences
            for ci in hits:
                if sentence[content[ci]] == sentence[content[ci + 1]]:
                    pairs.setdefault(cw[ci] + cw[ci + 1], []).append((ci, ci + 1))
        return pairs

    def find(self, variant: Variant, lists: list[list[int]], joined: _Joined, gap: int) -> list[tuple[int, int]]:
        """Every (first, last) content-word span holding all of the variant's words close together.

        `lists` holds the reply positions of each of the variant's words. Each gap between
        neighbouring words may hold at most `gap` other words, all in one sentence; the words
        keep the alias's order unless the variant is order-free. (The gaps are counted together:
        n words may spread over (n - 1) * (gap + 1) + 1 content words.)
        """
        words = variant.tokens
        spans: list[tuple[int, int]] = []
        if len(words) == 1 and not words[0].exact:
            spans.extend(joined.get(words[0].norm, ()))
        if not all(lists):
            return spans
        if len(words) == 1:
            return spans + [(p, p) for p in lists[0]]
        width = (len(words) - 1) * (gap + 1)
        if variant.ordered:
            return spans + self._find_ordered(lists, width)
        return spans + self._find_any_order(lists, width)

    def _find_ordered(self, lists: list[list[int]], width: int) -> list[tuple[int, int]]:
        """Spans with the words in the alias's order, first to last at most `width` content words apart."""
        spans: list[tuple[int, int]] = []
        sentence_of = self.sentences
        content = self.content
        last_end = -1
        for p0 in lists[0]:
            if p0 <= last_end:
                continue
            end = self._extend(lists, 1, p0, sentence_of[content[p0]], p0 + width, sentence_of)
            if end is not None:
                spans.append((p0, end))
                last_end = end
        return spans

    def _extend(self, lists: list[list[int]], k: int, prev: int, sentence: int, limit: int, sentence_of: list[int]) -> int | None:
        if k == len(lists):
            return prev
        positions = lists[k]
        for j in range(bisect_right(positions, prev), len(positions)):
            p = positions[j]
            if p > limit or sentence_of[self.content[p]] != sentence:
                break
            end = self._extend(lists, k + 1, p, sentence, limit, sentence_of)
            if end is not None:
                return end
        return None

    def _find_any_order(self, lists: list[list[int]], width: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        hits = sorted((p, k) for k, ps in enumerate(lists) for p in ps)
        need = len(lists)
        counts = [0] * need
        covered = lo = 0
        sentence_of, content = self.sentences, self.content
        for p, k in hits:
            counts[k] += 1
            covered += counts[k] == 1
            while hits[lo][0] < p - width:
                j = hits[lo][1]
                counts[j] -= 1
                covered -= counts[j] == 0
                lo += 1
            # All words of a term must come from the sentence of the newest hit.
            sentence = sentence_of[content[p]]
            while covered == need and sentence_of[content[hits[lo][0]]] != sentence:
                j = hits[lo][1]
                counts[j] -= 1
                covered -= counts[j] == 0
                lo += 1
            if covered == need and (not spans or hits[lo][0] > spans[-1][1]):
                spans.append((hits[lo][0], p))
        return spans

    def raw_index(self, ci: int) -> int:
        """Index in `raw_words` (the reply as written) of content word `ci`."""
        wi = self.content[ci]
        return self.source[0][wi] if self.source is not None else wi

    def name_before(self, at: int, names: frozenset[str], same_clause: bool = True) -> str | None:
        """The last of `names` written before raw word `at`, in its clause (or sentence)."""
        scope = self._scanned[0] if same_clause else self._scanned[1]
        words, unit = self.raw_words, scope[at]
        for j in range(at - 1, -1, -1):
            if scope[j] != unit:
                break
            w = words[j]
            if w in names or (w[-1] == "s" and w[:-1] in names):
                return w if w in names else w[:-1]
        return None

    def names_in_clause(self, at: int, names: frozenset[str]) -> set[str]:
        """Which of `names` the clause of raw word `at` mentions (a plural `s` allowed)."""
        out = set()
        for w in self.raw_words[_clause_around(self._scanned[0], at)]:
            if w in names:
                out.add(w)
            elif w[-1] == "s" and w[:-1] in names:
                out.add(w[:-1])
        return out

    def conditional(self, first: int) -> bool:
        """Whether the sentence of content word `first` is conditional before it ("if", "when", ...)."""
        words, sentences = self.words, self.sentences
        start = self.content[first]
        sentence = sentences[start]
        for j in range(start - 1, -1, -1):
            if sentences[j] != sentence:
                return False
            if words[j] in CONDITIONALS:
                return True
        return False

    def negated(self, first: int, last: int, own: bool = False) -> str:
        """The negator that negates the match ("" when none): one inside the match, or within a
        few content words before it in its clause.

        Filler words do not count toward the distance, so "nothing to do with the softmax"
        still negates "softmax". `own`: the alias carries its own negation ("no recurrence"),
        so a negator inside the match is part of the idea, not against it.
        """
        words, clauses = self.words, self.clauses
        start, end = self.content[first], self.content[last]
        if not own:
            for j in range(start + 1, end):  # "gradients do not vanish"
                # (a negator in an earlier clause of the match negates that clause only: "the
                # test data never looks like the training data, so the surface is shifted")
                if words[j] in NEGATORS and words[j + 1] != "only" and clauses[j] == clauses[end]:
                    return "" if self._purpose(j) else words[j]
        clause, seen = clauses[start], 0
        for j in range(start - 1, -1, -1):
            if clauses[j] != clause or words[j] in EXAMPLE_MARKS:
                break  # "activations that do not flatten out, like ReLU": the example is not negated
            if words[j] in NEGATORS:
                # "not only X but also Y" affirms X; "without" reaches its object only
                if words[j + 1] != "only" and seen < NEGATOR_REACH.get(words[j], NEGATION_WINDOW):
                    return "" if self._purpose(j) else words[j]
            elif words[j] not in STOPWORDS:
                seen += 1
                if seen >= NEGATION_WINDOW:
                    break
        return ""

    def _purpose(self, j: int) -> bool:
        """Whether negator `j` sits in a purpose clause: "scale the scores so they don't get too
        large", "random so neurons don't learn the same thing" name the problem a mechanism
        prevents; they state the idea, they do not deny it."""
        words, clauses = self.words, self.clauses
        clause = clauses[j]
        k = j
        while k > 0 and clauses[k - 1] == clause:
            k -= 1
        return (words[k] in PURPOSE_WORDS or (k > 0 and words[k - 1] in PURPOSE_LEADS)
                or (j >= 2 and words[j - 1] == "as" and words[j - 2] == "so"))


def _soften_hedged_negations(words: list[str], clauses: list[int]) -> list[str] | None:
    """"can't overfit as easily" means "overfits less": such a negator becomes "less".

    Returns the new word list, or None when there is nothing to soften (the common case).
    """
    out: list[str] | None = None
    for j in [j for j, w in enumerate(words) if w in NEGATORS]:
        for k in range(j + 1, min(j + 6, len(words) - 1)):
            if clauses[k] != clauses[j]:
                break
            if (words[k], words[k + 1]) in HEDGES and clauses[k + 1] == clauses[j]:
                if out is None:
                    out = list(words)
                out[j] = "less"
                break
    return out


# A slash separates fragments only between spaces: "w/", "w/o" and "mean/var" are inside one.
_FRAGMENT_SPLIT = re.compile(r"[,;\n|•·]+|\s[-/]\s")


_RELATION_MARKS = (":", "=", "->", "→", "⇒", "=>")


def is_keyword_list(reply: str) -> bool:
    """A bare list of terms: three or more fragments of at most three words, no sentence among them.

    Terse notes that say how things relate ("train: fit weights; val: tune hyperparams",
    "too big lr -> diverges") are not a bare list.
    """
    if any(mark in reply for mark in _RELATION_MARKS):
        return False
    fragments = start = 0
    # Fragment by fragment (finditer, not split): prose has a sentence first, and the rest of a
    # long reply is then never looked at.
    for separator in itertools.chain(_FRAGMENT_SPLIT.finditer(reply), (None,)):
        end = separator.start() if separator else len(reply)
        fragment = reply[start:end].strip(" .-*")
        start = separator.end() if separator else end
        if not fragment:
            continue
        if len(fragment.split(maxsplit=3)) > 3:  # a sentence: stop at the first (most replies: at once)
            return False
        fragments += 1
    return fragments >= 3



class _AliasWords:
    """Every alias and misconception word of every indexed question, one id each, and which of
    them a reply word matches.

    Shared by all questions: a reply word is looked up (forms, stem, typos) once per process, not
    once per question, and learners reuse words. The cache is bounded; adding a word (a question
    indexed for the first time) clears it, since a cached word may match the new one.
    """

    def __init__(self) -> None:
        self.ids: dict[AliasToken, int] = {}
        self.by_norm: dict[str, list[int]] = {}
        self.by_stem: dict[str, list[int]] = {}
        self.exact_plural: dict[str, list[int]] = {}
        self.shapes: dict[tuple[str, int], list[str]] = {}
        self.fuzzy_ids: dict[str, list[int]] = {}
        self.stem_shapes: dict[tuple[str, int], list[str]] = {}  # the same by stem: "sofetns" ~ "softens"
        self.fuzzy_stem_ids: dict[str, list[int]] = {}
        self.word_ids: dict[str, tuple[int, ...]] = {}  # reply word -> ids of the alias words it matches

    def id_of(self, t: AliasToken) -> int:
        i = self.ids.get(t)
        if i is not None:
            return i
        i = self.ids[t] = len(self.ids)
        self.by_norm.setdefault(t.norm, []).append(i)
        self.by_stem.setdefault(t.stem, []).append(i)
        if t.exact:
            self.exact_plural.setdefault(t.norm, []).append(i)
        elif max_typos(t.norm):
            if t.norm not in self.fuzzy_ids:
                self.shapes.setdefault((t.norm[0], len(t.norm)), []).append(t.norm)
            self.fuzzy_ids.setdefault(t.norm, []).append(i)
            if len(t.stem) >= MIN_FUZZY_STEM:
                if t.stem not in self.fuzzy_stem_ids:
                    self.stem_shapes.setdefault((t.stem[0], len(t.stem)), []).append(t.stem)
                self.fuzzy_stem_ids.setdefault(t.stem, []).append(i)
        self.word_ids.clear()
        return i

    def lookup(self, w: str) -> tuple[int, ...]:
        ids = self.word_ids.get(w)
        if ids is None:
            ids = self.ids_for(w)
            if len(w) <= MAX_CACHED_WORD:
                if len(self.word_ids) >= WORD_CACHE:
                    self.word_ids.clear()
                self.word_ids[w] = ids
        return ids

    def ids_for(self, w: str) -> tuple[int, ...]:
        """Alias words that reply word `w` matches: same form, same stem, acronym plural, or a typo.

        Typos are counted as OSA distance (a swap of two neighbouring letters is one edit), so
        "imgae" is "image"; the first letter must be right.
        """
        ids = set(self.by_norm.get(w, ()))
        stem = fast_stem(w)
        ids.update(self.by_stem.get(stem, ()))
        if w[-1] == "s":
            ids.update(self.exact_plural.get(w[:-1], ()))  # RNNs, LSTMs, GRUs
        # a typo, against the alias words' forms and then their stems (a typo in an inflected
        # word, "sofetns" for "softens", is one edit from the stem, two from the form "soften");
        # never the word that reverses it: "maximizes" is two edits from "minimizes"
        table = opposites()
        reverse = table.get(w) or table.get(stem)
        reverse_stem = fast_stem(reverse) if reverse else None
        for typed, shapes, fuzzy in ((w, self.shapes, self.fuzzy_ids), (stem, self.stem_shapes, self.fuzzy_stem_ids)):
            budget = max_typos(typed)
            if not budget or (typed is stem and len(stem) < MIN_FUZZY_STEM):
                continue
            n = len(typed)
            candidates: list[str] = []
            for length in range(max(4, n - budget), n + budget + 1):
                candidates.extend(shapes.get((typed[0], length), ()))
            if candidates:
                for norm, dist, _ in process.extract(typed, candidates, scorer=OSA.distance, score_cutoff=budget, limit=None):
                    if dist and dist <= max_typos(norm) and (reverse_stem is None or fast_stem(norm) != reverse_stem):
                        ids.update(fuzzy[norm])
        return tuple(ids)


_ALIAS_WORDS = _AliasWords()


def index_questions(questions: Iterable[Question]) -> None:
    """Index every question of a bank at once (the loader calls it): its words all enter the
    shared `_AliasWords` before any reply is graded, so the reply-word cache is never cleared,
    and grading never builds an index (memory stays flat while the bot runs)."""
    questions = list(questions)
    for q in questions:
        _index_of(q, read_answer=False)
    # Then what reads the model answers (reversals they state, the names compared): every alias
    # word has its id by now, so the reply-word cache is not cleared between two answers.
    for q in questions:
        _index_of(q).read_answer(q)


class _QuestionIndex:
    """A question's rubric prepared for matching: each alias and misconception as the ids of its
    words (in the shared `_AliasWords`), and the core/detail split."""

    def __init__(self, question: Question, read_answer: bool = True):
        id_of, known = _ALIAS_WORDS.id_of, _ALIAS_WORDS.ids.get
        norm_of = itemgetter(0)  # AliasToken.norm

        def prepared(variants: tuple[Variant, ...], gap: int) -> tuple[_Prepared, ...]:
            # (variant, its word ids, the set of them, the norm a joined pair may stand for,
            #  the gap allowed between its words, whether it carries its own negation)
            out: list[_Prepared] = []
            for v in variants:
                toks = v.tokens
                known_ids = tuple(map(known, toks))
                # a word no question had before gets an id
                vids = known_ids if _all_known(known_ids) else tuple(map(id_of, toks))
                own = not NEGATORS.isdisjoint(map(norm_of, toks))
                out.append((v, vids, frozenset(vids), toks[0].norm if len(vids) == 1 else None, 0 if own else gap, own))
            return tuple(out)

        self.term_variants = [prepared(term.variants, MAX_GAP) for term in question.key_terms]
        self.term_misconceptions = [prepared(term.misconception_variants, MISCONCEPTION_GAP) for term in question.key_terms]
        self.term_reversed = [prepared(reversed_claims(term), MISCONCEPTION_GAP) for term in question.key_terms]
        # per term: the word ids of its misconceptions and of its reversals (a reply that has
        # none of them cannot state one: most replies, most terms)
        self.term_wrong_ids = [frozenset(i for v in (*mis, *rev) for i in v[2])
                               for mis, rev in zip(self.term_misconceptions, self.term_reversed)]
        # per term: every alias word id, and the one-word aliases a joined pair can stand for;
        # a term none of whose words is in the reply is missed without looking at its variants
        self.term_ids = [frozenset(i for v in variants for i in v[1]) for variants in self.term_variants]
        self.term_joinable = [frozenset(v.tokens[0].norm for v in term.variants if len(v.tokens) == 1 and not v.tokens[0].exact)
                              for term in question.key_terms]
        tokens = set().union(*(v.tokens for term in question.key_terms for v in (*term.variants, *term.misconception_variants)))
        self.joinable = frozenset(t.norm for t in tokens if not t.exact and len(t.norm) >= 4)
        # A term whose meaning is "no X" ("can't backprop through sampling", "no hand-crafted
        # features") is written mostly with its negation: a fifth of its variants or more.
        # every word id grading this question looks up (the reversals dropped later are a subset)
        self.word_ids = frozenset(chain.from_iterable(
            v[2] for prepared_terms in (self.term_variants, self.term_misconceptions, self.term_reversed)
            for variants in prepared_terms for v in variants))
        _WORD_QUESTIONS.add(question.id, frozenset(i for variants in self.term_variants for v in variants for i in v[2]))
        self.negative_meaning = [sum(v[5] for v in variants) >= NEGATIVE_MEANING_SHARE * len(variants)
                                 for variants in self.term_variants]
        core = set(map(id, question.core_terms))
        self.is_core = [id(term) in core for term in question.key_terms]
        self.core_weight = sum(t.weight for t, c in zip(question.key_terms, self.is_core) if c)
        self.detail_weight = sum(t.weight for t, c in zip(question.key_terms, self.is_core) if not c)
        ncore = sum(self.is_core)
        self.core_needed = ncore - 1 if ncore >= MISSABLE_CORE_FROM else ncore
        # Comparison questions ("GRU vs LSTM", "BERT and GPT"): the names compared, and the one
        # each core idea belongs to in the model answer (see _swapped).
        named = _compared_names(question.question)
        paired = any(a.casefold() in named and b.casefold() in named for a, b in _PAIRED.findall(question.question))
        self.entities = named if paired or _COMPARES.search(question.question) else frozenset()
        self.entities |= _listed_names(question.question)
        self.entities = _singular(self.entities | _term_heads(question))
        self.subjects: list[str | None] = [None] * len(question.key_terms)
        self.answer_read = False
        self.answer: str | None = None
        self.answer_said: dict[Variant, bool] = {}  # reversal -> whether the model answer states it
        self.answer_read_as: tuple[str, set[str], tuple[_Reply, dict[int, list[int]], set[int]] | None] | None = None
        if read_answer:
            self.read_answer(question)

    def read_answer(self, question: Question) -> None:
        """What needs the model answer read like a reply: the name compared each core idea
        belongs to, and the reversals the answer itself states (dropped). Once."""
        if self.answer_read:
            return
        self.answer_read = True
        if len(self.entities) >= 2 and question.answer:
            self._find_subjects(question)
        # The reversals the answer itself states are found when one first matches a reply
        # (see `answer_states`): most never do, and looking for them all at load took more
        # than the rest of the answer reading.
        self.answer = question.answer

    def _find_subjects(self, question: Question) -> None:
        """The name a core idea belongs to: written before a colon in the term ("GRU: update and
        reset gates") or first ("GPT for generation"), else the one compared name of its clause
        in the model answer, written before it ("BERT is trained with masked language
        modelling"). A term naming both sides ("absolute values vs squares") belongs to neither."""
        said = _Reply(normalize(question.answer))
        positions = said.match_tokens(self.word_ids)  # only this question's words, as grading does
        present = set(positions)
        joined = said.joined_pairs(self.joinable)
        for k, (term, variants) in enumerate(zip(question.key_terms, self.term_variants)):
            if len(self.entities.intersection(_NAME_RE.findall(term.term.casefold()))) >= 2:
                continue  # "LSTM for long sequences, GRU for small data" belongs to both
            head = term.term.split(":", 1)[0].strip().casefold() if ":" in term.term else ""
            if not head and term.term.split(maxsplit=1)[0].casefold() in self.entities:
                head = term.term.split(maxsplit=1)[0].casefold()  # "GPT for generation"
            if head in self.entities:
                self.subjects[k] = head
                # "PTQ" alone names the thing compared, it does not say what is true of it
                stating = tuple(v for v in variants if not self._only_names(v[0]))
                if stating:
                    self.term_variants[k] = stating
                continue
            if _BOTH.search(term.term):
                continue  # "absolute values vs squares" belongs to both
            match, _ = _first_match(said, variants, positions, present, joined)
            if match is not None:
                at = said.raw_index(match[0])
                if len(said.names_in_clause(at, self.entities)) == 1:
                    self.subjects[k] = said.name_before(at, self.entities)
            if self.subjects[k] is None:
                # else the one name two or more of the term's aliases start with ("L1 gives sparse
                # weights", "L1 zeroes weights"), no other name in any of them
                starts = [v.tokens[0].norm for v in term.variants if len(v.tokens) > 1 and v.tokens[0].norm in self.entities]
                if (len(set(starts)) == 1 and len(starts) >= 2
                        and not any(t.norm in self.entities for v in term.variants for t in v.tokens[1:])):
                    self.subjects[k] = starts[0]

    def _only_names(self, variant: Variant) -> bool:
        """Whether every word of an alias is one of the names compared ("PTQ", "GRU vs LSTM")."""
        names = self.entities
        return all(t.norm in names or (t.norm[-1:] == "s" and t.norm[:-1] in names) for t in variant.tokens)

    def answer_states(self, reversal: _Prepared) -> bool:
        """Whether the model answer itself states a reversed alias: then it is no reversal in this
        question ("shrinks the size" -> "grows the size": the answer says the receptive field
        grows). Worked out once per reversal, when one first matches a reply."""
        known = self.answer_said.get(reversal[0])
        if known is not None:
            return known
        if self.answer_read_as is None:
            # the answer's words and stems first: most reversals have a word it does not have
            answer = normalize(self.answer or "")
            words = _WORD_RE.findall(answer)
            rewritten = phrasebook().rewrite(words)
            stems = set(map(fast_stem, set(words).union(rewritten[0]) if rewritten is not None else set(words)))
            self.answer_read_as = (answer, stems, None)
        answer, stems, said = self.answer_read_as
        stated = False
        if stems.issuperset(t.stem for t in reversal[0].tokens):
            if said is None:
                reply = _Reply(answer)
                positions = reply.match_tokens(self.word_ids)  # only this question's words, as grading does
                said = (reply, positions, set(positions))
                self.answer_read_as = (answer, stems, said)
            stated = _first_match(said[0], (reversal,), said[1], said[2], {}, same_clause=True)[0] is not None
        self.answer_said[reversal[0]] = stated
        return stated


_STEM, _TOKENS = itemgetter(1), itemgetter(1)  # AliasToken.stem, Variant.tokens
_NAME_RE = _WORD_RE = re.compile(r"[^\W_]+")
_COMPARES = re.compile(r"\b(differ|difference|differences|vs|versus|compare|compared|choose|between|over)\b", re.IGNORECASE)
_PAIRED = re.compile(r"([^\W_]+)(?:-[^\W_]+)? (?:and|or) ([^\W_]+)")  # "AdaGrad and RMSProp", "ROC-AUC and PR-AUC"
_LISTED = re.compile(r"\b(?:([^\W_]+)(?:-[^\W_]+)?, )?([^\W_]+)(?:-[^\W_]+)? (?:and|or|vs|versus) ([^\W_]+)(?:-[^\W_]+)? "
                     r"(?:sets|models|learning|minima|pruning|regularisation|regularization|embeddings|gradient|transformers|encodings)\b")
_QUESTION_WORDS = frozenset({"which", "what", "when", "why", "how", "where", "who", "whose", "whom"})
_BOTH = re.compile(r"\b(vs|versus|both|and)\b|/", re.IGNORECASE)


def _compared_names(question: str) -> frozenset[str]:
    """Names in a question's text (acronyms, names with capitals or digits, capitalised words
    after the first): "How does a GRU differ from an LSTM" -> {gru, lstm}."""
    words = _NAME_RE.findall(question)
    return frozenset(
        w.casefold() for i, w in enumerate(words)
        if len(w) >= 2 and w.casefold() not in STOPWORDS and w.casefold() not in _QUESTION_WORDS and (w.isupper() or any(c.isdigit() for c in w) or any(c.isupper() for c in w[1:])
                            or (i and w[0].isupper()))
    )


def _clause_around(clauses: list[int], at: int) -> slice:
    """The words of word `at`'s clause, given each word's clause number."""
    start = end = at
    while start > 0 and clauses[start - 1] == clauses[at]:
        start -= 1
    while end + 1 < len(clauses) and clauses[end + 1] == clauses[at]:
        end += 1
    return slice(start, end + 1)


def _listed_names(question: str) -> frozenset[str]:
    """Plain words the question lists as the things compared: "training, validation and test
    sets", "supervised and unsupervised learning", "structured and unstructured pruning"."""
    out: set[str] = set()
    for m in _LISTED.finditer(question.casefold()):
        words = [w for w in m.groups() if w]
        if all(w not in STOPWORDS and w not in _QUESTION_WORDS and len(w) >= 2 for w in words):
            out.update(words)
    return frozenset(out)


def _term_heads(question: Question) -> frozenset[str]:
    """Names the rubric compares: one-word heads of terms written "NAME: idea" ("GAN: mode
    collapse", "VAE: blurry samples", "cosine: smooth decay"), when two or more such heads of the
    question are named in its text or model answer ("caveat: ..." alone is no comparison)."""
    said = set(_NAME_RE.findall(f"{question.question} {question.answer}".casefold()))
    heads = set()
    for term in question.key_terms:
        if ":" in term.term:
            words = _NAME_RE.findall(term.term.split(":", 1)[0].casefold())
            if len(words) == 1 and len(words[0]) >= 2 and (words[0] in said or words[0] + "s" in said):
                heads.add(words[0])
    return frozenset(heads) if len(heads) >= 2 else frozenset()


def _singular(names: frozenset[str]) -> frozenset[str]:
    """"gans" and "gan" are one name: the plural is dropped when the singular is there too."""
    return frozenset(n for n in names if not (n.endswith("s") and n[:-1] in names))


_REVERSED_FROM: dict[Variant, str] = {}  # a reversed claim -> the stem of the word it swapped out


@cache  # a fifth of the aliases repeat across terms ("vanishing gradients", ...)
def _flipped(v: Variant) -> tuple[Variant, tuple[str, ...], str] | None:
    """A multi-word alias with its one direction word swapped (see reversed_claims): the
    reversal, its stems, and the stem of the word swapped in; None without exactly one."""
    table = opposites()
    toks = v.tokens
    flips = [k for k, t in enumerate(toks) if t.stem in table]
    if len(flips) != 1:
        return None
    k = flips[0]
    word = table.get(toks[k].norm) or table[toks[k].stem]
    swapped = AliasToken(word, stem(word), toks[k].exact)
    new = (*toks[:k], swapped, *toks[k + 1:])
    text = re.sub(rf"\b{re.escape(toks[k].norm)}\b", word, v.text, count=1, flags=re.IGNORECASE)
    reversal = Variant(text if text != v.text else " ".join(t.norm for t in new), new, v.ordered)
    _REVERSED_FROM[reversal] = toks[k].stem
    return reversal, tuple(t.stem for t in new), swapped.stem


def _written_words(text: str) -> int:
    """Content words of an alias as written, before the shared vocabulary."""
    return sum(w not in STOPWORDS for w in _WORD_RE.findall(normalize(text.lstrip("~"))))


def reversed_claims(term: KeyTerm) -> tuple[Variant, ...]:
    """The term's multi-word aliases with their one direction word swapped for its opposite
    (content/vocabulary.toml, `opposites`): "gradients shrink" -> "gradients grow". A reply
    stating one says the opposite of the idea, like an authored misconception. An alias with two
    direction words ("larger batch, higher lr") is left alone: swapping one is no reversal."""
    table = opposites()
    if table.keys().isdisjoint(map(_STEM, chain.from_iterable(map(_TOKENS, term.variants)))):
        return ()  # most terms: no direction word at all
    own = {t.stem for v in term.variants for t in v.tokens}
    out: list[Variant] = []
    # a swap that gives another alias of the term ("normalize before or after") is no reversal
    seen: set[tuple[str, ...]] = {tuple(t.stem for t in v.tokens) for v in term.variants}
    for v in term.variants:
        flipped = _flipped(v) if len(v.tokens) >= 2 else None
        if flipped is None:
            continue
        reversal, key, swapped_stem = flipped
        if swapped_stem in own and _written_words(v.text) == 2:
            # the term has both directions as aliases ("grow", "shrink"): no reversal (counted as
            # written: "backward RNN" is two words, four once the vocabulary spelled out "RNN")
            continue
        if key in seen:
            continue
        seen.add(key)
        out.append(reversal)
    return tuple(out)


def _all_known(ids: tuple[int | None, ...]) -> TypeGuard[tuple[int, ...]]:
    """Whether every word already had an id (`_AliasWords.ids.get` found each one)."""
    return None not in ids


class _WordQuestions:
    """In how many questions' aliases each alias word is: a word most rubrics use ("network",
    "model", "loss") says less of one idea than a rare one ("myopic", "Lipschitz")."""

    def __init__(self) -> None:
        self.questions: dict[str, frozenset[int]] = {}
        self.count: dict[int, int] = {}

    def add(self, question_id: str, ids: frozenset[int]) -> None:
        old = self.questions.get(question_id)
        if old == ids:
            return
        if old is None and len(self.questions) > 20_000:  # bounded, like the indexes (generated banks)
            self.questions.clear()
            self.count.clear()
        for i in old or ():
            self.count[i] -= 1
        for i in ids:
            self.count[i] = self.count.get(i, 0) + 1
        self.questions[question_id] = ids

    def weight(self, i: int) -> float:
        """How specific alias word `i` is: log(questions / questions using it), smoothed; 0 for
        a word of every rubric (and for every word while one question is indexed)."""
        return math.log((len(self.questions) + 1) / (self.count.get(i, 0) + 1))


_WORD_QUESTIONS = _WordQuestions()
_INDEXES: dict[int, tuple[Question, _QuestionIndex]] = {}


def _index_of(question: Question, read_answer: bool = True) -> _QuestionIndex:
    """Built on first use per question and kept (the bank is loaded once per process);
    `read_answer=False` leaves the model answer to `_QuestionIndex.read_answer` (see index_questions)."""
    hit = _INDEXES.get(id(question))
    if hit is not None and hit[0] is question:
        return hit[1]
    if len(_INDEXES) > 20_000:
        _INDEXES.clear()
    index = _QuestionIndex(question, read_answer)
    _INDEXES[id(question)] = (question, index)
    return index


_NONE: list[int] = []  # read only: an alias word the reply lacks


def _first_match(reply: _Reply, variants: Iterable[_Prepared], positions: dict[int, list[int]], present: set[int],
                 joined: _Joined, same_clause: bool = False,
                 negations: list[str] | None = None) -> tuple[tuple[int, int, Variant] | None, bool]:
    """The first un-negated occurrence of any variant, as (first, last content word, variant);
    and whether only negated ones exist, outside a conditional ("if they are all zero, nothing
    breaks symmetry" and "without a non-linear step, layers stay linear" describe the failure
    case, they do not deny the idea). `same_clause`: the words must be in one clause;
    `negations` collects every negator met, counterfactual ones included."""
    best: tuple[int, int, Variant] | None = None
    saw_negated = False
    for variant, ids, idset, single, gap, own in variants:
        if not idset <= present and single not in joined:  # some word of it is not in the reply
            continue
        lists = [positions.get(i, _NONE) for i in ids]
        for first, last in reply.find(variant, lists, joined, gap):
            if same_clause and reply.clauses[reply.content[first]] != reply.clauses[reply.content[last]]:
                continue
            if reply.asked and reply.sentences[reply.content[first]] in reply.asked:
                continue  # "is this the same as a transformer encoder?" asks, it states nothing
            negator = reply.negated(first, last, own)
            if negator:
                if negations is not None:
                    negations.append(negator)
                # "without X, ..." and "if ... not X" are counterfactual: not a denial of X
                saw_negated |= negator != "without" and not reply.conditional(first)
                continue
            if best is None or first < best[0]:
                best = (first, last, variant)
            break
    if best is None:
        return None, saw_negated
    return best, False


def _both_directions(reply: _Reply, span: tuple[int, int, Variant]) -> bool:
    """Whether the clause of a reversed claim also has the word it swapped out: "avoids vanishing
    and exploding gradients", "goes up and down" name both directions, they reverse nothing."""
    original = _REVERSED_FROM.get(span[2])
    if original is None:
        return False
    clause = reply.words[_clause_around(reply.clauses, reply.content[span[0]])]
    return any(fast_stem(w) == original for w in clause)


def _states_another(reply: _Reply, span: tuple[int, int, Variant], all_variants: list[tuple[_Prepared, ...]],
                    own: tuple[_Prepared, ...], positions: dict[int, list[int]], joined: _Joined) -> bool:
    """Whether words of `span` (a reversed claim) are also the match of another idea's alias."""
    first, last = span[0], span[1]
    for variants in all_variants:
        if variants is own:
            continue
        for variant, ids, _, _, gap, _ in variants:
            lists = [positions.get(i, _NONE) for i in ids]
            if any(a <= last and b >= first for a, b in reply.find(variant, lists, joined, gap)):
                return True
    return False


def _swapped(reply: _Reply, first: int, subject: str, names: frozenset[str]) -> str | None:
    """A core idea said of the wrong one of the names compared ("BERT is trained with next-token
    prediction" when the model answer says GPT is): the clause names another one before it and
    not its own, nor does the sentence contrast it with its own later ("..., unlike GPT"). Returns
    what the reply said, else None."""
    at = reply.raw_index(first)
    other = reply.name_before(at, names)
    if other is None or other == subject or subject in reply.names_in_clause(at, names):
        return None
    sentences, words = reply._scanned[1], reply.raw_words
    for j in range(at + 1, len(words)):  # "GRU merges the cell state ..., instead of the LSTM's": a contrast
        if sentences[j] != sentences[at]:
            break
        if words[j] == subject or (words[j][-1] == "s" and words[j][:-1] == subject):
            if not CONTRASTS.isdisjoint(words[max(0, j - 3):j]):
                return None
            break  # its next mention is no contrast
    return f"{other}: {reply.raw_words[at]}"


def _soft_match(reply: _Reply, variants: tuple[_Prepared, ...], positions: dict[int, list[int]],
                present: set[int]) -> tuple[int, int, Variant] | None:
    """A phrasing of a core idea (SOFT_FROM words or more) stated without one of its inner words,
    when that word is generic (it weighs at most half of the phrasing's most specific word, see
    _WordQuestions): the others in its order, close together, in one clause, not negated, not
    asked. "reuse the learned features" says "reuse the features"; the first and last words are
    what the phrase is about and are never left out."""
    weight = _WORD_QUESTIONS.weight
    for variant, ids, idset, _, gap, own in variants:
        n = len(ids)
        if n < SOFT_FROM or own or len(idset) != n or len(idset & present) != n - 1:
            continue
        k = next(j for j, i in enumerate(ids) if i not in present)
        weights = [weight(i) for i in ids]
        if weights[k] > SOFT_GENERIC * max(weights) or k in (0, n - 1):
            continue  # the missing word is a specific one, or what the phrase is about
        toks = variant.tokens[:k] + variant.tokens[k + 1:]
        sub = Variant(variant.text, toks, variant.ordered)
        lists = [positions.get(i, _NONE) for i in ids[:k] + ids[k + 1:]]
        for first, last in reply.find(sub, lists, {}, gap):
            if reply.clauses[reply.content[first]] != reply.clauses[reply.content[last]]:
                continue
            if reply.negated(first, last) or (reply.asked and reply.sentences[reply.content[first]] in reply.asked):
                continue
            return first, last, variant
    return None


def _partly_stated(variants: tuple[_Prepared, ...], present: set[int]) -> bool:
    """Whether the reply has more than half of the words of one multi-word phrasing of a term
    (anywhere: the words found, not their order or distance), and more than half of what they
    say: words many rubrics share ("network", "noise") weigh less than specific ones."""
    weight = _WORD_QUESTIONS.weight
    for v in variants:
        if len(v[2]) >= 2 and not v[5] and 2 * len(v[2] & present) > len(v[2]):
            total = sum(map(weight, v[2]))
            if total <= 0 or 2 * sum(map(weight, v[2] & present)) > total:
                return True  # (no word more specific than another: the words found are enough)
    return False


def aliases_stating(term: KeyTerm) -> list[tuple[str, str]]:
    """(alias, misconception) pairs where an alias of `term` matches the whole of one of its
    misconceptions, every content word of it: `content check` rejects such an alias, which would
    credit the opposite claim. (An alias that is only part of a misconception is fine: where both
    match a reply, the misconception wins.)"""
    from .bank import KeyTerm as _KeyTerm

    if not term.misconceptions:
        return []
    q = Question("check", "intermediate", ("check",), "", "", (_KeyTerm(term.term, (), variants=term.variants),))
    index = _QuestionIndex(q)
    found: list[tuple[str, str]] = []
    for said in term.misconceptions:
        prepared = _Reply(normalize(said))
        if not prepared.content:
            continue
        positions = prepared.match_tokens()
        present = set(positions)
        joined = prepared.joined_pairs(index.joinable)
        whole = len(prepared.content) - 1
        for entry in index.term_variants[0]:
            match, _ = _first_match(prepared, (entry,), positions, present, joined)
            if match is not None and match[0] == 0 and match[1] == whole:
                found.append((entry[0].text, said))
                break
    return found


def grade_reply(question: Question, reply: str) -> Grade:
    """Grade `reply` against `question`'s rubric; see docs/CONTENT.md for the verdict rules."""
    terms = question.key_terms
    index = _index_of(question)
    all_missed = tuple(t.term for t in terms)
    core_all = tuple(t.term for t, c in zip(terms, index.is_core) if c)
    details_all = tuple(t.term for t, c in zip(terms, index.is_core) if not c)
    text = normalize((reply or "")[:MAX_REPLY_CHARS])
    if not text.strip():
        return Grade(question.id, 0.0, "incorrect", (), all_missed, reason="empty reply",
                     core_missed=core_all, details_missed=details_all)
    prepared = _Reply(text)
    if not prepared.content:
        return Grade(question.id, 0.0, "incorrect", (), all_missed, reason="no words to grade",
                     core_missed=core_all, details_missed=details_all)

    positions = prepared.match_tokens(index.word_ids)
    joined = prepared.joined_pairs(index.joinable)
    present = set(positions)  # alias and misconception words the reply has
    found: list[tuple[KeyTerm, tuple[int, int, Variant]]] = []
    missed: list[str] = []
    negated: list[str] = []
    stated: list[tuple[str, str]] = []
    core_found: list[str] = []
    core_missed: list[str] = []
    details_found: list[str] = []
    details_missed: list[str] = []
    contradicted: list[str] = []
    got_core = got_details = 0.0
    negations: list[str] = []  # negators met, per term (a negated idea is not stated in part)
    any_negated: set[str] = set()
    for term, variants, misconceptions, reversals, term_ids, joinable, is_core, negative_meaning, subject, wrong_ids in zip(
        terms, index.term_variants, index.term_misconceptions, index.term_reversed, index.term_ids, index.term_joinable,
        index.is_core, index.negative_meaning, index.subjects, index.term_wrong_ids,
    ):
        if term_ids.isdisjoint(present) and (not joined or joinable.isdisjoint(joined)):
            match, was_negated = None, False  # not one of its words is in the reply
        else:
            match, was_negated = _first_match(prepared, variants, positions, present, joined, negations=negations)
            if negations:
                any_negated.add(term.term)
                negations.clear()
        if match is None and not was_negated and is_core and not term_ids.isdisjoint(present):
            # a phrasing of a core idea said without one of its generic inner words
            match = _soft_match(prepared, variants, positions, present)
        said = None
        wrong = None
        if wrong_ids.isdisjoint(present):
            misconceptions = reversals = ()  # not one word of a wrong claim is in the reply
        if misconceptions:
            wrong, _ = _first_match(prepared, misconceptions, positions, present, {})
        if wrong is None and reversals:
            # the right words with the direction reversed ("pooling upsamples"), in one clause;
            # not where the reply states the idea itself elsewhere ("a big batch ... in smaller
            # micro-batches"), nor where the words state another idea of the answer ("the
            # discriminator also gets the label" reverses "the generator gets the label")
            candidates = reversals
            while True:
                wrong = _first_match(prepared, candidates, positions, present, {}, same_clause=True)[0]
                if wrong is None:
                    break
                entry = next(r for r in candidates if r[0] is wrong[2])
                if not index.answer_states(entry):
                    break
                candidates = tuple(r for r in candidates if r is not entry)  # the answer says it too
            if wrong is not None and (
                    (match is not None and (match[1] < wrong[0] or match[0] > wrong[1]))
                    or _both_directions(prepared, wrong)
                    or _states_another(prepared, wrong, index.term_variants, variants, positions, joined)):
                wrong = None
        if wrong is not None:
            said = wrong[2].text
            stated.append((term.term, said))
            match = None
        elif match and subject is not None:
            swapped = _swapped(prepared, match[0], subject, index.entities)
            if swapped is not None:
                said = swapped
                stated.append((term.term, said))
                match = None
        if match:
            found.append((term, match))
            if is_core:
                core_found.append(term.term)
                got_core += term.weight
            else:
                details_found.append(term.term)
                got_details += term.weight
            continue
        missed.append(term.term)
        if was_negated:
            negated.append(term.term)
        if is_core:
            core_missed.append(term.term)
            # A term that means "no X" ("can't backprop through sampling") is not contradicted
            # by a negation: "you can't backprop through a random sample" says it.
            if said is not None or (was_negated and not negative_meaning):
                contradicted.append(term.term)
        else:
            details_missed.append(term.term)

    # One core idea short of "correct" on a question of two or three, with most words of one of
    # the missing idea's phrasings in the reply: stated in other words or spread out, it is
    # stated in part ("a clear part of one"), enough for "correct" next to the others.
    partly: list[str] = []
    if (core_found and not contradicted and len(core_found) == index.core_needed - 1
            and index.core_needed == sum(index.is_core) <= PARTLY_UP_TO):
        for term, variants, is_core in zip(terms, index.term_variants, index.is_core):
            if is_core and term.term in core_missed and term.term not in any_negated and _partly_stated(variants, present):
                partly.append(term.term)
                got_core += PARTLY_CREDIT * term.weight
                break
    core_share = CORE_SHARE if index.detail_weight else 1.0
    score = core_share * (got_core / index.core_weight if index.core_weight else 0.0)
    if index.detail_weight:
        score += (1 - CORE_SHARE) * got_details / index.detail_weight
    score = min(1.0, score)
    enough_core = len(core_found) + len(partly) >= index.core_needed and not contradicted
    # What the reply gets wrong: contradicted core ideas, and misconceptions of details.
    errors = set(contradicted) | {term for term, _ in stated}
    # Only a reply that would be correct can be capped, so only then is it checked (it costs
    # ~90 µs on a 4,096-character reply).
    keyword_list = enough_core and is_keyword_list(reply)

    if enough_core and not keyword_list:
        verdict: Verdict = "correct"
        reason = "covers the core ideas" + (", one of them in part" if partly else "")
    elif keyword_list:
        verdict, reason = "partial", "a list of keywords: explain how they fit together"
    elif core_found and WRONG_WEIGHT * len(errors) < len(core_found) + WRONG_MARGIN:
        verdict = "partial"
        reason = "contradicts a core idea" if contradicted else "covers some of the core ideas"
    elif not core_found and not errors and len(details_found) >= PARTIAL_DETAILS:
        verdict, reason = "partial", "covers part of the answer but none of its core ideas"
    else:
        verdict = "incorrect"
        if contradicted:
            reason = "contradicts the core ideas"
        elif negated and not found:
            reason = "the key ideas were negated"
        else:
            reason = "none of the core ideas"
    # In reply order (by first word: the same order as by character offset, which is not
    # computed unless read). Offsets are needed for the words up to the last match only.
    found.sort(key=lambda f: f[1][0])
    upto = max((prepared.content[last] for _, (_, last, _) in found), default=-1)
    if prepared.source is not None and upto >= 0:
        upto = prepared.source[1][upto]
    offsets = _WordOffsets(prepared.text, prepared.raw_words, prepared.content, prepared.source, upto)
    matched = [TermMatch(term.term, variant.text, offsets, first, last) for term, (first, last, variant) in found]
    return Grade(question.id, score, verdict, tuple(matched), tuple(missed), tuple(negated), keyword_list, reason,
                 tuple(core_found), tuple(core_missed), tuple(details_found), tuple(details_missed),
                 tuple(contradicted), tuple(stated), tuple(partly))
