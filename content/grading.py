"""Grade a free-text reply against a question's key terms.

The grader is deliberately explainable: it looks for each key idea (a term or one of its
aliases) in the reply, word by word, forgiving typos and word forms, and scores the weight
of the ideas found. A learner can see exactly which ideas counted and where.

Why not one rapidfuzz call over the whole reply? `partial_ratio` ignores word boundaries
("cat" scores 100 inside "concatenate"), and `token_set_ratio` is 100 whenever a term's words
appear anywhere. So fuzzing happens per word, between words of similar length that start with
the same letter, and phrases must keep their word order within a small window.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .bank import AliasToken, KeyTerm, Question, Variant
from .text import MAX_CACHED_WORD, NEGATORS, STOPWORDS, fast_stem, max_typos, normalize, scan, word_spans

Verdict = Literal["correct", "partial", "incorrect"]

CORRECT_AT = 0.70
PARTIAL_AT = 0.20
MAX_GAP = 2  # other content words allowed between two words of a multi-word term
NEGATION_WINDOW = 4  # words before a match searched for "not", "no", "never", ... (same clause only)
MAX_REPLY_CHARS = 10_000  # longer replies are graded on their first 10,000 characters
WORD_CACHE = 2_000  # per question: distinct reply words remembered with their matches (bounded memory)


class _WordOffsets:
    """Character offsets of a graded reply's words, found on first use.

    Finding them walks the reply word by word (a tenth of the grading time), and the bot never
    needs them: a verdict names the terms, not where they were. `bot.cli grade` and disputes do.
    """

    __slots__ = ("text", "words", "content", "upto", "spans")

    def __init__(self, text: str, words: list[str], content: list[int], upto: int):
        self.text, self.words, self.content, self.upto = text, words, content, upto
        self.spans: list[tuple[int, int]] | None = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """(start, end) in the text of content words first..last."""
        if self.spans is None:
            self.spans = word_spans(self.text, self.words, self.upto)
        return self.spans[self.content[first]][0], self.spans[self.content[last]][1]


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

    def _key(self) -> tuple:
        return (self.term, self.alias, self.start, self.end, self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermMatch) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TermMatch(term={self.term!r}, alias={self.alias!r}, start={self.start}, end={self.end}, text={self.text!r})"


@dataclass(frozen=True, slots=True)
class Grade:
    question_id: str
    score: float
    verdict: Verdict
    matched: tuple[TermMatch, ...]
    missed: tuple[str, ...]
    negated: tuple[str, ...] = ()
    keyword_list: bool = False  # a bare list of terms that would otherwise be correct (capped at partial)
    reason: str = ""

    @property
    def matched_terms(self) -> list[str]:
        return [m.term for m in self.matched]

    def to_dict(self) -> dict:
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
        }


class _Reply:
    """A reply prepared once per grading: content words indexed by form, stem, first letter and length."""

    __slots__ = ("text", "words", "clauses", "sentences", "content", "by_norm")

    def __init__(self, text: str):
        self.text = text
        self.words, self.clauses, self.sentences = scan(text)
        # content[i] = index in self.words of the i-th non-filler word
        self.content: list[int] = []
        self.by_norm: dict[str, list[int]] = {}
        content, by_norm = self.content, self.by_norm
        for wi, w in enumerate(self.words):
            if w in STOPWORDS:
                continue
            hit = by_norm.get(w)
            if hit is None:
                by_norm[w] = [len(content)]
            else:
                hit.append(len(content))
            content.append(wi)

    def match_tokens(self, index: "_QuestionIndex") -> dict[int, list[int]]:
        """For each alias word of the question the reply has, the content positions where it has it.

        Works from the reply's side: each distinct reply word is looked up once (exact form,
        stem, plural of an acronym, then typos against alias words of similar length sharing
        its first letter), so the cost follows the reply's vocabulary, not the alias count.
        Alias words the reply does not have get no entry (a question has hundreds of them).
        """
        found: dict[int, list[int]] = {}
        cache = index.word_ids
        for w, cis in self.by_norm.items():
            ids = cache.get(w)
            if ids is None:
                ids = index.ids_for(w)
                if len(w) <= MAX_CACHED_WORD:
                    if len(cache) >= WORD_CACHE:
                        cache.clear()
                    cache[w] = ids
            for i in ids:
                hit = found.get(i)  # the reply's own (sorted) list, copied only when merged
                found[i] = cis if hit is None else sorted(hit + cis)
        return found

    def joined_pairs(self, joinable: frozenset[str]) -> dict[str, list[tuple[int, int]]]:
        """Neighbouring words of one sentence written apart that form a one-word alias together
        ("batch norm" for "batchnorm"): one pass over the reply, one set lookup per word pair."""
        pairs: dict[str, list[tuple[int, int]]] = {}
        if not joinable:
            return pairs
        words, content, sentence = self.words, self.content, self.sentences
        for ci in range(len(content) - 1):
            a, b = content[ci], content[ci + 1]
            key = words[a] + words[b]
            if key in joinable and sentence[a] == sentence[b]:
                pairs.setdefault(key, []).append((ci, ci + 1))
        return pairs

    def find(self, variant: Variant, lists: list[list[int]], joined: dict, width: int) -> list[tuple[int, int]]:
        """Every (first, last) content-word span holding all of the variant's words close together.

        `lists` holds the reply positions of each of the variant's words. Word order is free
        ("gradients vanish" matches "vanishing gradients"), but each gap between neighbouring
        words may hold at most MAX_GAP other words.
        """
        words = variant.tokens
        spans: list[tuple[int, int]] = []
        if len(words) == 1 and not words[0].exact:
            spans.extend(joined.get(words[0].norm, ()))
        if not all(lists):
            return spans
        if len(words) == 1:
            return spans + [(p, p) for p in lists[0]]
        hits = sorted((p, k) for k, ps in enumerate(lists) for p in ps)
        need = len(words)
        counts = [0] * need
        covered = lo = 0
        for hi, (p, k) in enumerate(hits):
            counts[k] += 1
            covered += counts[k] == 1
            while hits[lo][0] < p - width:
                j = hits[lo][1]
                counts[j] -= 1
                covered -= counts[j] == 0
                lo += 1
            # All words of a term must come from the sentence of the newest hit.
            sentence = self.sentences[self.content[p]]
            while covered == need and self.sentences[self.content[hits[lo][0]]] != sentence:
                j = hits[lo][1]
                counts[j] -= 1
                covered -= counts[j] == 0
                lo += 1
            if covered == need and (not spans or hits[lo][0] > spans[-1][1]):
                spans.append((hits[lo][0], p))
        return spans

    def negated(self, first: int, last: int) -> bool:
        """True when a negator stands in the match, or within a few content words before it in its clause.

        Filler words do not count toward the distance, so "nothing to do with the softmax"
        still negates "softmax".
        """
        words, clauses = self.words, self.clauses
        start, end = self.content[first], self.content[last]
        for j in range(start + 1, end):  # free word order: "gradients neither vanish"
            if words[j] in NEGATORS and words[j + 1] != "only":
                return True
        clause, seen = clauses[start], 0
        for j in range(start - 1, -1, -1):
            if clauses[j] != clause:
                break
            if words[j] in NEGATORS:
                if words[j + 1] != "only":  # "not only X but also Y" affirms X
                    return True
            elif words[j] not in STOPWORDS:
                seen += 1
                if seen >= NEGATION_WINDOW:
                    break
        return False


_FRAGMENT_SPLIT = re.compile(r"[,;\n/|•·]+|\s-\s")


def is_keyword_list(reply: str) -> bool:
    """A bare list of terms: three or more fragments of at most three words, no sentence among them."""
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


class _QuestionIndex:
    """A question's alias words, indexed once: by form, by stem, and by (first letter, length)."""

    def __init__(self, question: Question):
        self.tokens: list[AliasToken] = []
        ids: dict[AliasToken, int] = {}
        self.variant_ids: list[list[tuple[int, ...]]] = []
        for term in question.key_terms:
            per_term = []
            for variant in term.variants:
                per_term.append(tuple(ids.setdefault(t, len(ids)) for t in variant.tokens))
            self.variant_ids.append(per_term)
        self.tokens = list(ids)
        # per term: every alias word id, and the one-word aliases a joined pair can stand for;
        # a term none of whose words is in the reply is missed without looking at its variants
        self.term_ids = [frozenset(i for v in per_term for i in v) for per_term in self.variant_ids]
        self.term_joinable = [frozenset(v.tokens[0].norm for v in term.variants if len(v.tokens) == 1 and not v.tokens[0].exact)
                              for term in question.key_terms]
        # per term, per variant: (variant, its word ids, the set of them, the norm a joined pair
        # may stand for, how many content words its words may span)
        self.term_variants = [
            tuple((v, ids, frozenset(ids), v.tokens[0].norm if len(ids) == 1 else None, _width(v))
                  for v, ids in zip(term.variants, per_term))
            for term, per_term in zip(question.key_terms, self.variant_ids)
        ]
        self.by_norm: dict[str, list[int]] = {}
        self.by_stem: dict[str, list[int]] = {}
        self.exact_plural: dict[str, list[int]] = {}
        self.shapes: dict[tuple[str, int], list[str]] = {}
        self.fuzzy_ids: dict[str, list[int]] = {}
        self.joinable = frozenset(t.norm for t in self.tokens if not t.exact and len(t.norm) >= 4)
        # reply word -> ids of the alias words it matches; learners reuse words, so this pays off
        self.word_ids: dict[str, tuple[int, ...]] = {}
        for i, t in enumerate(self.tokens):
            self.by_norm.setdefault(t.norm, []).append(i)
            self.by_stem.setdefault(t.stem, []).append(i)
            if t.exact:
                self.exact_plural.setdefault(t.norm, []).append(i)
            elif max_typos(t.norm):
                if t.norm not in self.fuzzy_ids:
                    self.shapes.setdefault((t.norm[0], len(t.norm)), []).append(t.norm)
                self.fuzzy_ids.setdefault(t.norm, []).append(i)


    def ids_for(self, w: str) -> tuple[int, ...]:
        """Alias words that reply word `w` matches: same form, same stem, acronym plural, or a typo."""
        ids = set(self.by_norm.get(w, ()))
        ids.update(self.by_stem.get(fast_stem(w), ()))
        if w[-1] == "s":
            ids.update(self.exact_plural.get(w[:-1], ()))  # RNNs, LSTMs, GRUs
        n = len(w)
        budget = max_typos(w)
        if budget:
            candidates: list[str] = []
            for length in range(max(4, n - budget), n + budget + 1):
                candidates.extend(self.shapes.get((w[0], length), ()))
            if candidates:
                for norm, dist, _ in process.extract(w, candidates, scorer=OSA.distance, score_cutoff=budget, limit=None):
                    if dist and dist <= max_typos(norm):
                        ids.update(self.fuzzy_ids[norm])
        return tuple(ids)


_INDEXES: dict[int, tuple[Question, _QuestionIndex]] = {}


def _index_of(question: Question) -> _QuestionIndex:
    """Built on first use per question and kept (the bank is loaded once per process)."""
    hit = _INDEXES.get(id(question))
    if hit is not None and hit[0] is question:
        return hit[1]
    if len(_INDEXES) > 20_000:
        _INDEXES.clear()
    index = _QuestionIndex(question)
    _INDEXES[id(question)] = (question, index)
    return index


def _width(variant: Variant) -> int:
    """How far apart (in content words) the first and last word of a multi-word alias may be.

    An alias that carries its own negation ("doesn't overfit") must match word for word: with
    gaps, "doesn't reduce overfitting" would count as "doesn't overfit".
    """
    gap = 0 if any(w.norm in NEGATORS for w in variant.tokens) else MAX_GAP
    return (len(variant.tokens) - 1) * (gap + 1)


_NONE: list[int] = []  # read only: an alias word the reply lacks


def _match_term(reply: _Reply, variants, positions, present, joined) -> tuple[tuple[int, int, Variant] | None, bool]:
    """Find the first un-negated occurrence of a term, as (first, last content word, variant);
    report whether only negated ones exist."""
    best: tuple[int, int, Variant] | None = None
    saw_negated = False
    for variant, ids, idset, single, width in variants:
        if not idset <= present and single not in joined:  # some word of it is not in the reply
            continue
        lists = [positions.get(i, _NONE) for i in ids]
        for first, last in reply.find(variant, lists, joined, width):
            if reply.negated(first, last):
                saw_negated = True
                continue
            if best is None or first < best[0]:
                best = (first, last, variant)
            break
    if best is None:
        return None, saw_negated
    return best, False


def grade_reply(question: Question, reply: str) -> Grade:
    """Grade `reply` against `question`'s key terms; see docs/CONTENT.md for the verdict rules."""
    terms = question.key_terms
    all_missed = tuple(t.term for t in terms)
    text = normalize((reply or "")[:MAX_REPLY_CHARS])
    if not text.strip():
        return Grade(question.id, 0.0, "incorrect", (), all_missed, reason="empty reply")
    prepared = _Reply(text)
    if not prepared.content:
        return Grade(question.id, 0.0, "incorrect", (), all_missed, reason="no words to grade")

    index = _index_of(question)
    positions = prepared.match_tokens(index)
    joined = prepared.joined_pairs(index.joinable)
    found: list[tuple[KeyTerm, tuple[int, int, Variant]]] = []
    missed: list[str] = []
    negated: list[str] = []
    got = total = 0.0
    required_missed = False
    present = set(positions)  # alias words the reply has
    for term, variants, term_ids, joinable in zip(terms, index.term_variants, index.term_ids, index.term_joinable):
        total += term.weight
        if term_ids.isdisjoint(present) and (not joined or joinable.isdisjoint(joined)):
            match, was_negated = None, False  # not one of its words is in the reply
        else:
            match, was_negated = _match_term(prepared, variants, positions, present, joined)
        if match:
            found.append((term, match))
            got += term.weight
        else:
            missed.append(term.term)
            required_missed |= term.required
            if was_negated:
                negated.append(term.term)
    score = got / total if total else 0.0
    # Only a reply that would be correct can be capped, so only then is it checked (it costs
    # ~90 µs on a 4,096-character reply).
    keyword_list = score >= CORRECT_AT and is_keyword_list(reply)

    if score >= CORRECT_AT and not required_missed and not keyword_list:
        verdict: Verdict = "correct"
        reason = "covers the key ideas"
    elif score >= PARTIAL_AT or (score >= CORRECT_AT and (required_missed or keyword_list)):
        verdict = "partial"
        if score >= CORRECT_AT and keyword_list:
            reason = "a list of keywords: explain how they fit together"
        elif score >= CORRECT_AT:
            reason = "misses an essential idea"
        else:
            reason = "covers some of the key ideas"
    else:
        verdict = "incorrect"
        reason = "the key ideas were negated" if negated and not found else "few of the key ideas"
    # In reply order (by first word: the same order as by character offset, which is not
    # computed unless read). Offsets are needed for the words up to the last match only.
    found.sort(key=lambda f: f[1][0])
    offsets = _WordOffsets(prepared.text, prepared.words, prepared.content, max((prepared.content[last] for _, (_, last, _) in found), default=-1))
    matched = [TermMatch(term.term, variant.text, offsets, first, last) for term, (first, last, variant) in found]
    return Grade(question.id, score, verdict, tuple(matched), tuple(missed), tuple(negated), keyword_list, reason)
