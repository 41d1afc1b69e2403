"""Topic lookup for /ask: rank questions by how well a short query matches them.

An inverted index from word stems to questions, built once per bank. Each field counts
differently: a question's main topic matters most, then its other topics and key terms, then
the words of the question, and the model answer least. Query words are matched like the
grader matches reply words (stems, and typos for longer words), so "dropuot" finds dropout.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from .text import STOPWORDS, max_typos, normalize, tokenize

# Words that say "I am asking" rather than what about.
QUERY_FILLER = frozenset(
    "explain describe define tell difference between vs versus work works working use used "
    "mean means meaning purpose role concept idea please question questions".split()
)
MAIN_TOPIC, OTHER_TOPIC, KEY_TERM, QUESTION_TEXT, ANSWER_TEXT = 3.0, 2.0, 2.0, 1.5, 0.5
FUZZY_FACTOR = 0.85
CUTOFF = 0.5  # a hit needs, on average, each query word found in a question's text or better


@dataclass(frozen=True, slots=True)
class SearchHit:
    question_id: str
    score: float  # 0..100
    question: str
    topic: str


def _query_words(query: str) -> list[tuple[str, str]]:
    words = [(t.norm, t.stem) for t in tokenize(normalize(query)) if t.norm not in STOPWORDS]
    meaningful = [w for w in words if w[0] not in QUERY_FILLER]
    return meaningful or words


class SearchIndex:
    def __init__(self, bank):
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
        for tok in tokenize(normalize(text)):
            if tok.norm in STOPWORDS:
                continue
            self.norm_to_stems[tok.norm].add(tok.stem)
            per_field = self._fields[tok.stem][qi]
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
        words = _query_words(query or "")
        if not words:
            return []
        totals: dict[int, float] = defaultdict(float)
        extras: dict[int, float] = defaultdict(float)
        for norm, stem in words:
            best: dict[int, tuple[float, float]] = {}
            for s, factor in self._stems_for(norm, stem).items():
                for qi, (weight, others) in self.postings.get(s, {}).items():
                    value = (weight * factor, others * factor)
                    if value > best.get(qi, (0.0, 0.0)):
                        best[qi] = value
            for qi, (value, others) in best.items():
                totals[qi] += value
                extras[qi] += others
        top = MAIN_TOPIC * len(words)
        ranked = sorted(
            ((v / top, extras[qi], qi) for qi, v in totals.items() if v / top >= CUTOFF), key=lambda x: (-x[0], -x[1], x[2])
        )
        return [
            SearchHit(self.questions[qi].id, round(score * 100, 1), self.questions[qi].question, self.questions[qi].topic)
            for score, _extra, qi in ranked[:limit]
        ]

    def closest_topics(self, query: str, limit: int = 3) -> list[str]:
        """Topic slugs nearest to a query that found nothing, so the bot can suggest them."""
        if not (query or "").strip():
            return []
        hits = process.extract(
            query, self.topic_choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit
        )
        return [slug for _choice, _score, slug in hits]


def find_questions(bank, query: str, limit: int = 3) -> list[SearchHit]:
    """Best-matching questions for a topic query, best first; empty when nothing is close enough."""
    return bank.search_index.find(query, limit)


def closest_topics(bank, query: str, limit: int = 3) -> list[str]:
    return bank.search_index.closest_topics(query, limit)
