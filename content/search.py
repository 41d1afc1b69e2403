"""Topic lookup for /ask: rank questions by how well a short query matches them.

An inverted index from word stems to questions, built once per bank. Each field counts
differently: a question's main topic matters most, then its other topics and key terms, then
the words of the question, and the model answer least. Query words are matched like the
grader matches reply words (stems, and typos for longer words), so "dropuot" finds dropout.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from .text import STOPWORDS, fast_stem, max_typos, normalize, scan
from .vocabulary import canonical_text_words

if TYPE_CHECKING:
    from .bank import Bank

# Words that say "I am asking" rather than what about.
QUERY_FILLER = frozenset(
    "explain describe define tell difference between vs versus work works working use used "  # noqa: SIM905
    "mean means meaning purpose role concept idea please question questions".split()
)
MAIN_TOPIC, OTHER_TOPIC, KEY_TERM, QUESTION_TEXT, ANSWER_TEXT = 3.0, 2.0, 2.0, 1.5, 0.5
FUZZY_FACTOR = 0.85
CUTOFF = 0.5  # a hit needs, on average, each query word found in a question's text or better
# How much of the ranking is "is the query this question's main subject". A question's id is a
# readable slug that names its subject head first ("dropout-how", "kv-cache",
# "dropout-batchnorm-conflict", "resnet-skip-connections"): focus is half "the query names the
# id's first word" and half "the share of the id's words the query names". "dropout" then ranks
# "How does dropout work?" above "Why do dropout and batch normalisation conflict?", although
# both are about dropout.
FOCUS_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class SearchHit:
    question_id: str
    score: float  # 0..100
    question: str
    topic: str
    twins: tuple[str, ...] = ()  # the same subject at another level (not listed as hits of their own)


def _words(text: str) -> list[str]:
    """Normalised words of `text` after the shared vocabulary ("kv cache" reads "key value cache")."""
    return canonical_text_words(scan(normalize(text))[0])


def _query_words(query: str) -> list[tuple[str, str]]:
    words = [(w, fast_stem(w)) for w in _words(query) if w not in STOPWORDS]
    meaningful = [w for w in words if w[0] not in QUERY_FILLER]
    return meaningful or words


class SearchIndex:
    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.questions = bank.questions
        # stem -> {question index: {field: weight}}; folded into (best, others) below
        fields: dict[str, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        self._fields = fields
        self.norm_to_stems: dict[str, set[str]] = defaultdict(set)
        topics = {t.slug: t for t in bank.topics}
        for qi, q in enumerate(self.questions):
            for rank, slug in enumerate(q.topics):
                weight = MAIN_TOPIC if rank == 0 else OTHER_TOPIC
                topic = topics.get(slug)
                texts = [slug.replace("-", " ")] + ([topic.title, *topic.aliases] if topic else [])
                for text in texts:
                    self._add(qi, text, weight, "topic")
            for term in q.key_terms:
                for text in (term.term, *term.aliases):
                    self._add(qi, text, KEY_TERM, "term")
            self._add(qi, q.question, QUESTION_TEXT, "question")
            self._add(qi, q.answer, ANSWER_TEXT, "answer")
        # Each question's subject words (its id, filler dropped), head first.
        self.subject_stems: list[tuple[str, ...]] = []
        for q in self.questions:
            stems = [fast_stem(w) for w in _words(q.id.replace("-", " ")) if w not in STOPWORDS and w not in QUERY_FILLER]
            self.subject_stems.append(tuple(dict.fromkeys(stems)))
        # Per word and question: the best field's weight decides whether it is a hit at all;
        # the other fields it also appears in break ties ("adam" is a topic alias of every
        # optimiser question, but only the Adam question also has it in its text and terms).
        self.postings: dict[str, dict[int, tuple[float, float]]] = {
            stem: {qi: (max(f.values()), sum(f.values()) - max(f.values())) for qi, f in per_q.items()}
            for stem, per_q in fields.items()
        }
        del self._fields
        self.by_first: dict[str, list[str]] = defaultdict(list)
        for norm in self.norm_to_stems:
            self.by_first[norm[0]].append(norm)
        self.topic_choices = {t.slug: " ".join((t.title, *t.aliases)) for t in bank.topics}

    def _add(self, qi: int, text: str, weight: float, field: str) -> None:
        for norm in _words(text):
            if norm in STOPWORDS:
                continue
            stem = fast_stem(norm)
            self.norm_to_stems[norm].add(stem)
            per_field = self._fields[stem][qi]
            if per_field.get(field, 0.0) < weight:
                per_field[field] = weight

    def _stems_for(self, norm: str, stem: str) -> dict[str, float]:
        """Index stems a query word stands for, with a factor: 1.0 exact or same stem, less for typos."""
        found = {stem: 1.0} if stem in self.postings else {}
        for s in self.norm_to_stems.get(norm, ()):
            found[s] = 1.0
        budget = max_typos(norm)
        if budget:
            candidates = [w for w in self.by_first.get(norm[0], ()) if abs(len(w) - len(norm)) <= budget]
            for w, _dist, _ in process.extract(norm, candidates, scorer=OSA.distance, score_cutoff=budget, limit=None):
                if len(w) > 3:
                    for s in self.norm_to_stems[w]:
                        found.setdefault(s, FUZZY_FACTOR)
        return found

    def find(self, query: str, limit: int = 3) -> list[SearchHit]:
        """Best hits first, one per subject: a question asked at two levels (the same `subject`)
        is listed once, by its better-matching twin, with the other in `twins`."""
        words = _query_words(query or "")
        if not words:
            return []
        totals: dict[int, float] = defaultdict(float)
        extras: dict[int, float] = defaultdict(float)
        named: set[str] = set()  # index stems the query names (typos included)
        for norm, stem in words:
            best: dict[int, tuple[float, float]] = {}
            for s, factor in self._stems_for(norm, stem).items():
                named.add(s)
                for qi, (weight, others) in self.postings.get(s, {}).items():
                    value = (weight * factor, others * factor)
                    if value > best.get(qi, (0.0, 0.0)):
                        best[qi] = value
            for qi, (weight, others) in best.items():
                totals[qi] += weight
                extras[qi] += others
        top = MAIN_TOPIC * len(words)
        ranked = []
        for qi, v in totals.items():
            if v / top < CUTOFF:
                continue
            subject = self.subject_stems[qi]
            focus = 0.5 * (subject[0] in named) + 0.5 * sum(s in named for s in subject) / len(subject) if subject else 0.0
            score = (1 - FOCUS_SHARE) * min(1.0, v / top) + FOCUS_SHARE * focus
            ranked.append((score, extras[qi], qi))
        ranked.sort(key=lambda x: (-x[0], -x[1], x[2]))
        hits: list[SearchHit] = []
        seen: dict[str, int] = {}
        for score, _extra, qi in ranked:
            q = self.questions[qi]
            key = q.subject_key
            if key in seen:  # the twin of a hit already listed
                at = seen[key]
                hits[at] = SearchHit(hits[at].question_id, hits[at].score, hits[at].question, hits[at].topic,
                                     hits[at].twins + (q.id,))
                continue
            if len(hits) == limit:
                continue
            seen[key] = len(hits)
            hits.append(SearchHit(q.id, round(score * 100, 1), q.question, q.topic))
        return hits

    def closest_topics(self, query: str, limit: int = 3) -> list[str]:
        """Topic slugs nearest to a query that found nothing, so the bot can suggest them."""
        if not (query or "").strip():
            return []
        hits = process.extract(
            query, self.topic_choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit
        )
        return [slug for _choice, _score, slug in hits]


def find_questions(bank: Bank, query: str, limit: int = 3) -> list[SearchHit]:
    """Best-matching questions for a topic query, best first; empty when nothing is close enough."""
    return bank.search_index.find(query, limit)


def closest_topics(bank: Bank, query: str, limit: int = 3) -> list[str]:
    return bank.search_index.closest_topics(query, limit)
