"""The question bank: TOML files under content/questions, loaded once and validated.

Authors edit TOML by hand (`docs/CONTENT.md`), so the loader's job is to catch what a human
slips on — a duplicated id, an alias under two terms, a key term the model answer never
states — and to say exactly where (file and entry), all problems at once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rapidfuzz import fuzz, process

from .text import STOPWORDS, normalize, stem, tokenize

CONTENT_DIR = Path(__file__).resolve().parent
QUESTIONS_DIR = CONTENT_DIR / "questions"
TOPICS_FILE = CONTENT_DIR / "topics.toml"

LEVELS = ("intermediate", "advanced")
MAX_ANSWER_CHARS = 1200
MIN_KEY_TERMS, MAX_KEY_TERMS = 4, 8
NEAR_DUPLICATE_SCORE = 90  # token_sort_ratio of two questions' content words
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_QUESTION_KEYS = {"id", "level", "topics", "question", "answer", "hint", "key_terms", "subject"}
_TERM_KEYS = {"term", "aliases", "weight", "required", "core", "misconceptions"}


@dataclass(frozen=True, slots=True)
class AliasToken:
    """One word of an alias, prepared for matching. `exact` words (acronyms, short words) are never fuzzed."""

    norm: str
    stem: str
    exact: bool


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of writing a key term: the text as authored and its prepared words."""

    text: str
    tokens: tuple[AliasToken, ...]


@dataclass(frozen=True, slots=True)
class KeyTerm:
    term: str
    aliases: tuple[str, ...]
    weight: float = 1.0
    required: bool = False
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    level: str
    topics: tuple[str, ...]
    question: str
    answer: str
    key_terms: tuple[KeyTerm, ...]
    hint: str | None = None
    source: str = ""

    @property
    def topic(self) -> str:
        """The main topic (the first one listed)."""
        return self.topics[0]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "level": self.level,
            "topics": list(self.topics),
            "question": self.question,
            "answer": self.answer,
            "hint": self.hint,
            "key_terms": [
                {"term": k.term, "aliases": list(k.aliases), "weight": k.weight, "required": k.required}
                for k in self.key_terms
            ],
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    title: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """A validation problem, located by file and entry id so an author can find it."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" if self.entry else self.file
        return f"{where}: {self.message}"


class ContentError(Exception):
    """The bank has problems; `problems` lists all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} content problem(s); first: {problems[0]}")


@dataclass
class Bank:
    questions: tuple[Question, ...]
    topics: tuple[Topic, ...]
    by_id: dict[str, Question] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {q.id: q for q in self.questions}

    def __len__(self) -> int:
        return len(self.questions)

    def get(self, question_id: str) -> Question | None:
        return self.by_id.get(question_id)

    @cached_property
    def topic_titles(self) -> dict[str, str]:
        return {t.slug: t.title for t in self.topics}

    @cached_property
    def search_index(self):
        """Built on first use and kept: /ask never re-reads or re-indexes the bank."""
        from .search import SearchIndex

        return SearchIndex(self)


def prepare_variant(text: str) -> Variant:
    """Prepare an alias for matching: drop filler words, mark acronyms and short words exact."""
    raw_words = re.findall(r"[^\W_]+", text)
    # Acronyms (RNN), names with inner capitals (AdamW, ResNet) and words with digits (L2)
    # are names: a typo-tolerant match would confuse AdamW with Adam, L1 with L2.
    acronyms = {
        w.casefold()
        for w in raw_words
        if len(w) >= 2 and (w.isupper() or any(c.isdigit() for c in w) or any(c.isupper() for c in w[1:]))
    }
    words = [t for t in tokenize(normalize(text))]
    content = [t for t in words if t.norm not in STOPWORDS] or words
    return Variant(
        text,
        tuple(AliasToken(t.norm, t.stem, t.norm in acronyms or len(t.norm) <= 3) for t in content),
    )


def _variants(term: str, aliases: tuple[str, ...]) -> tuple[Variant, ...]:
    seen: set[tuple[str, ...]] = set()
    out: list[Variant] = []
    for text in (term, *aliases):
        v = prepare_variant(text)
        key = tuple(t.stem for t in v.tokens)
        if v.tokens and key not in seen:
            seen.add(key)
            out.append(v)
        # "batch norm" is also written "batchnorm": add the joined form of two-word aliases.
        if len(v.tokens) == 2 and not any(t.exact for t in v.tokens):
            joined = v.tokens[0].norm + v.tokens[1].norm
            if (stem(joined),) not in seen:
                seen.add((stem(joined),))
                out.append(Variant(text, (AliasToken(joined, stem(joined), False),)))
    return tuple(out)


def make_term(term: str, aliases: tuple[str, ...] | list[str] = (), weight: float = 1.0, required: bool = False) -> KeyTerm:
    """A prepared key term, as the loader builds it (for tests and generated banks)."""
    aliases = tuple(aliases)
    return KeyTerm(term, aliases, float(weight), required, _variants(term, aliases))


def load_topics(path: Path = TOPICS_FILE) -> tuple[tuple[Topic, ...], list[Problem]]:
    problems: list[Problem] = []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return (), [Problem(str(path), "", f"cannot read topics: {exc}")]
    topics: list[Topic] = []
    for entry in data.get("topic", []):
        slug, title = entry.get("slug"), entry.get("title")
        if not isinstance(slug, str) or not isinstance(title, str):
            problems.append(Problem(path.name, str(slug or "?"), "topic needs a string `slug` and `title`"))
            continue
        topics.append(Topic(slug, title, tuple(entry.get("aliases", ()))))
    return tuple(topics), problems


def _parse_term(raw: object, where: tuple[str, str], problems: list[Problem]) -> KeyTerm | None:
    file, qid = where
    if not isinstance(raw, dict):
        problems.append(Problem(file, qid, "each key term must be a table with `term` and `aliases`"))
        return None
    unknown = set(raw) - _TERM_KEYS
    if unknown:
        problems.append(Problem(file, qid, f"key term has unknown field(s): {', '.join(sorted(unknown))}"))
    term = raw.get("term")
    aliases = raw.get("aliases", [])
    if not isinstance(term, str) or not term.strip():
        problems.append(Problem(file, qid, "empty key term"))
        return None
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        problems.append(Problem(file, qid, f"key term {term!r}: `aliases` must be a list of non-empty strings"))
        aliases = []
    weight = raw.get("weight", 1.0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
        problems.append(Problem(file, qid, f"key term {term!r}: `weight` must be a positive number"))
        weight = 1.0
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.append(Problem(file, qid, f"key term {term!r}: `required` must be true or false"))
        required = False
    aliases_t = tuple(a.strip() for a in aliases)
    variants = _variants(term.strip(), aliases_t)
    if not variants:
        problems.append(Problem(file, qid, f"key term {term!r} has no words to match"))
        return None
    return KeyTerm(term.strip(), aliases_t, float(weight), required, variants)


def _parse_question(raw: object, file: str, topic_slugs: set[str], problems: list[Problem]) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(Problem(file, "?", "each [[question]] must be a table"))
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid:
        problems.append(Problem(file, "?", f"missing field `id` (question: {str(raw.get('question', ''))[:60]!r})"))
        return None
    before = len(problems)
    if not _ID_RE.match(qid):
        problems.append(Problem(file, qid, "`id` must be a slug: lowercase letters, digits and '-'"))
    unknown = set(raw) - _QUESTION_KEYS
    if unknown:
        problems.append(Problem(file, qid, f"unknown field(s): {', '.join(sorted(unknown))}"))
    for name in ("level", "topics", "question", "answer", "key_terms"):
        if name not in raw or raw[name] in ("", [], None):
            problems.append(Problem(file, qid, f"missing field `{name}`"))
    level = raw.get("level", "")
    if level and level not in LEVELS:
        problems.append(Problem(file, qid, f"unknown level {level!r} (use one of: {', '.join(LEVELS)})"))
    topics = raw.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        problems.append(Problem(file, qid, "`topics` must be a list of topic slugs"))
        topics = []
    for t in topics:
        if topic_slugs and t not in topic_slugs:
            problems.append(Problem(file, qid, f"topic {t!r} is not in content/topics.toml"))
    question, answer, hint = raw.get("question", ""), raw.get("answer", ""), raw.get("hint")
    if not isinstance(question, str) or not isinstance(answer, str):
        problems.append(Problem(file, qid, "`question` and `answer` must be strings"))
        return None
    if hint is not None and not isinstance(hint, str):
        problems.append(Problem(file, qid, "`hint` must be a string"))
        hint = None
    answer = answer.strip()
    if len(answer) > MAX_ANSWER_CHARS:
        problems.append(Problem(file, qid, f"answer is {len(answer)} characters (keep it ≤ {MAX_ANSWER_CHARS})"))
    raw_terms = raw.get("key_terms", [])
    terms = [t for t in (_parse_term(r, (file, qid), problems) for r in raw_terms or []) if t]
    if raw_terms and not (MIN_KEY_TERMS <= len(raw_terms) <= MAX_KEY_TERMS):
        problems.append(Problem(file, qid, f"{len(raw_terms)} key terms (use {MIN_KEY_TERMS}–{MAX_KEY_TERMS})"))
    owner: dict[tuple[str, ...], str] = {}
    reported: set[str] = set()
    for term in terms:
        for v in term.variants:
            key = tuple(t.stem for t in v.tokens)
            if key in owner and owner[key] != term.term and v.text not in reported:
                reported.add(v.text)
                problems.append(
                    Problem(file, qid, f"alias {v.text!r} belongs to two terms: {owner[key]!r} and {term.term!r}")
                )
            owner.setdefault(key, term.term)
    if len(problems) > before and not terms:
        return None
    return Question(
        id=qid,
        level=level if level in LEVELS else "intermediate",
        topics=tuple(topics),
        question=question.strip(),
        answer=answer,
        key_terms=tuple(terms),
        hint=hint.strip() if hint else None,
        source=file,
    )


def _check_answers(questions: list[Question], problems: list[Problem]) -> None:
    """The model answer must state every key term and grade `correct` against itself."""
    from .grading import grade_reply

    for q in questions:
        if not q.key_terms:
            continue
        grade = grade_reply(q, q.answer)
        for term in grade.missed:
            problems.append(Problem(q.source, q.id, f"key term {term!r}: neither it nor an alias is in the model answer"))
        if grade.verdict != "correct" and not grade.missed:
            problems.append(Problem(q.source, q.id, f"the model answer grades {grade.verdict}, not correct"))


def _check_near_duplicates(questions: list[Question], problems: list[Problem]) -> None:
    """Flag two questions of the same level whose texts say nearly the same thing.

    Across levels the seed deliberately asks about one topic twice ("What are GANs?" for
    intermediate, "How do GANs work?" for advanced), so only same-level pairs are compared.
    """
    texts = [" ".join(sorted(set(tokens_of(q.question)))) for q in questions]
    for i, text in enumerate(texts[:-1]):
        later = [t if questions[i + 1 + k].level == questions[i].level else "" for k, t in enumerate(texts[i + 1 :])]
        for _choice, score, k in process.extract(
            text, later, scorer=fuzz.token_sort_ratio, score_cutoff=NEAR_DUPLICATE_SCORE, limit=None
        ):
            a, b = questions[i], questions[i + 1 + k]
            problems.append(Problem(b.source, b.id, f"question is a near duplicate of {a.id!r} ({a.source}), similarity {score:.0f}"))


def tokens_of(text: str) -> list[str]:
    return [t.stem for t in tokenize(normalize(text)) if t.norm not in STOPWORDS]


def read_bank(questions_dir: Path = QUESTIONS_DIR, topics_file: Path = TOPICS_FILE) -> tuple[Bank, list[Problem]]:
    """Load every question file, returning the bank of valid entries and every problem found."""
    topics, problems = load_topics(topics_file)
    slugs = {t.slug for t in topics}
    files = sorted(Path(questions_dir).glob("*.toml"))
    if not files:
        problems.append(Problem(str(questions_dir), "", "no question files (*.toml) found"))
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(Problem(path.name, "", f"cannot parse: {exc}"))
            continue
        unknown = set(data) - {"question"}
        if unknown:
            problems.append(Problem(path.name, "", f"unknown top-level key(s): {', '.join(sorted(unknown))} (use [[question]])"))
        for raw in data.get("question", []):
            q = _parse_question(raw, path.name, slugs, problems)
            if q is None:
                continue
            if q.id in first_seen:
                problems.append(Problem(path.name, q.id, f"duplicate id (first defined in {first_seen[q.id]})"))
                continue
            first_seen[q.id] = path.name
            questions.append(q)
    _check_answers(questions, problems)
    _check_near_duplicates(questions, problems)
    return Bank(tuple(questions), topics), problems


def load_bank(questions_dir: Path = QUESTIONS_DIR, topics_file: Path = TOPICS_FILE) -> Bank:
    """Load the bank, refusing one with problems: the bot must never run on broken content."""
    bank, problems = read_bank(questions_dir, topics_file)
    if problems:
        raise ContentError(problems)
    return bank
