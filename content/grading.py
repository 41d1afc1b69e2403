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

import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .bank import AliasToken, KeyTerm, Question, Variant
from .text import NEGATORS, STOPWORDS, Token, max_typos, normalize, tokenize

Verdict = Literal["correct", "partial", "incorrect"]

CORRECT_AT = 0.70
PARTIAL_AT = 0.30
MAX_GAP = 2  # other content words allowed between two words of a multi-word term
NEGATION_WINDOW = 3  # words before a match searched for "not", "no", "never", ...
MAX_REPLY_CHARS = 10_000  # longer replies are graded on their first 10,000 characters


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A key term found in the reply: which alias matched and where (offsets into `normalize(reply)`)."""

    term: str
    alias: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Grade:
    question_id: str
    score: float
    verdict: Verdict
    matched: tuple[TermMatch, ...]
    missed: tuple[str, ...]
    negated: tuple[str, ...] = ()
    keyword_list: bool = False
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
    """A reply prepared once per grading: content words indexed by form, stem and first letter."""

    __slots__ = ("text", "tokens", "content", "by_norm", "by_stem", "by_first", "joined", "_cache")

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        # content[i] = position in self.tokens of the i-th non-filler word
        self.content: list[int] = [i for i, t in enumerate(self.tokens) if t.norm not in STOPWORDS]
        self.by_norm: dict[str, list[int]] = {}
        self.by_stem: dict[str, list[int]] = {}
        self.by_first: dict[str, list[str]] = {}
        self.joined: dict[str, list[tuple[int, int]]] = {}
        for ci, ti in enumerate(self.content):
            tok = self.tokens[ti]
            if tok.norm not in self.by_norm:
                self.by_first.setdefault(tok.norm[0], []).append(tok.norm)
            self.by_norm.setdefault(tok.norm, []).append(ci)
            self.by_stem.setdefault(tok.stem, []).append(ci)
            if ci + 1 < len(self.content):
                nxt = self.tokens[self.content[ci + 1]]
                self.joined.setdefault(tok.norm + nxt.norm, []).append((ci, ci + 1))
        self._cache: dict[AliasToken, list[int]] = {}

    def positions(self, word: AliasToken) -> list[int]:
        """Content positions where `word` occurs: exactly, by stem, or (long words only) with typos."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        found = set(self.by_norm.get(word.norm, ()))
        found.update(self.by_stem.get(word.stem, ()))
        found.update(self.by_norm.get(word.norm + "s", ()))  # plural acronyms: RNNs, LSTMs, GRUs
        budget = 0 if word.exact else max_typos(word.norm)
        if budget:
            candidates = [
                w for w in self.by_first.get(word.norm[0], ()) if abs(len(w) - len(word.norm)) <= budget and len(w) > 3
            ]
            for w, dist, _ in process.extract(
                word.norm, candidates, scorer=OSA.distance, score_cutoff=budget, limit=None
            ):
                if dist <= min(budget, max_typos(w)):
                    found.update(self.by_norm[w])
        hit = sorted(found)
        self._cache[word] = hit
        return hit

    def find(self, variant: Variant) -> list[tuple[int, int]]:
        """Every (first, last) content-word span holding all of the variant's words close together.

        Word order is free ("gradients vanish" matches "vanishing gradients"), but each gap
        between neighbouring words may hold at most MAX_GAP other words.
        """
        words = variant.tokens
        spans: list[tuple[int, int]] = []
        if len(words) == 1 and not words[0].exact:
            spans.extend(self.joined.get(words[0].norm, ()))
        lists = [self.positions(w) for w in words]
        if not all(lists):
            return spans
        if len(words) == 1:
            return spans + [(p, p) for p in lists[0]]
        width = (len(words) - 1) * (MAX_GAP + 1)
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
            if covered == need and (not spans or hits[lo][0] > spans[-1][1]):
                spans.append((hits[lo][0], p))
        return spans

    def negated(self, first_content: int) -> bool:
        """True when a negator stands within a few words before the match, in the same clause."""
        ti = self.content[first_content]
        clause = self.tokens[ti].clause
        for j in range(max(0, ti - NEGATION_WINDOW), ti):
            tok = self.tokens[j]
            if tok.clause != clause or tok.norm not in NEGATORS:
                continue
            after = self.tokens[j + 1].norm if j + 1 < len(self.tokens) else ""
            if after != "only":  # "not only X but also Y" affirms X
                return True
        return False

    def span_text(self, first: int, last: int) -> tuple[int, int, str]:
        start = self.tokens[self.content[first]].start
        end = self.tokens[self.content[last]].end
        return start, end, self.text[start:end]


_FRAGMENT_SPLIT = re.compile(r"[,;\n/|•·]+|\s-\s")


def is_keyword_list(reply: str) -> bool:
    """A bare list of terms: three or more fragments of at most three words, no sentence among them."""
    fragments = [f.strip(" .-*") for f in _FRAGMENT_SPLIT.split(reply)]
    fragments = [f for f in fragments if f]
    if len(fragments) < 3:
        return False
    return all(len(f.split()) <= 3 for f in fragments)


def _match_term(reply: _Reply, term: KeyTerm) -> tuple[TermMatch | None, bool]:
    """Find the first un-negated occurrence of a term; report whether only negated ones exist."""
    best: tuple[int, int, Variant] | None = None
    saw_negated = False
    for variant in term.variants:
        for first, last in reply.find(variant):
            if reply.negated(first):
                saw_negated = True
                continue
            if best is None or first < best[0]:
                best = (first, last, variant)
            break
    if best is None:
        return None, saw_negated
    start, end, text = reply.span_text(best[0], best[1])
    return TermMatch(term.term, best[2].text, start, end, text), False


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

    matched: list[TermMatch] = []
    missed: list[str] = []
    negated: list[str] = []
    got = total = 0.0
    required_missed = False
    for term in terms:
        total += term.weight
        match, was_negated = _match_term(prepared, term)
        if match:
            matched.append(match)
            got += term.weight
        else:
            missed.append(term.term)
            required_missed |= term.required
            if was_negated:
                negated.append(term.term)
    score = got / total if total else 0.0
    keyword_list = is_keyword_list(reply)

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
        reason = "the key ideas were negated" if negated and not matched else "few of the key ideas"
    matched.sort(key=lambda m: m.start)
    return Grade(question.id, score, verdict, tuple(matched), tuple(missed), tuple(negated), keyword_list, reason)
