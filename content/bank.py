"""The question bank: TOML files under content/questions, loaded once and validated.

Authors edit TOML by hand (`docs/CONTENT.md`), so the loader's job is to catch what a human
slips on — a duplicated id, an alias under two terms, a key term the model answer never
states — and to say exactly where (file and entry), all problems at once.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from rapidfuzz import fuzz, process

from .text import STOPWORDS, normalize, scan, stem, tokenize
from .vocabulary import TOML_ERRORS, canonical_text_words, phrasebook, read_toml

if TYPE_CHECKING:
    from .search import SearchIndex

CONTENT_DIR = Path(__file__).resolve().parent
QUESTIONS_DIR = CONTENT_DIR / "questions"
TOPICS_FILE = CONTENT_DIR / "topics.toml"

LEVELS = ("intermediate", "advanced")
MAX_ANSWER_CHARS = 1200
MIN_KEY_TERMS, MAX_KEY_TERMS = 4, 8
MIN_CORE, MAX_CORE = 2, 4  # core ideas per question (docs/CONTENT.md, "Core ideas")
ORDER_FREE = "~"  # an alias written "~gradients vanish" matches its words in any order
NEAR_DUPLICATE_SCORE = 90  # token_sort_ratio of two questions' content words
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_QUESTION_KEYS = {"id", "level", "topics", "question", "answer", "hint", "key_terms", "subject"}
_TERM_KEYS = {"term", "aliases", "weight", "required", "core", "misconceptions"}


class AliasToken(NamedTuple):
    """One word of an alias, prepared for matching. `exact` words (acronyms, short words) are never fuzzed.

    A named tuple, not a dataclass: the loader makes some 30,000 of them and the grader's index
    hashes them, both several times faster for a tuple.
    """

    norm: str
    stem: str
    exact: bool


class Variant(NamedTuple):
    """One way of writing a key term: the text as authored and its prepared words.

    `ordered`: the words must come in this order (the default); an alias written with a
    leading `~` is order-free. (A named tuple: the loader makes some 15,000.)
    """

    text: str
    tokens: tuple[AliasToken, ...]
    ordered: bool = True


@dataclass(frozen=True, slots=True)
class KeyTerm:
    """One idea of the rubric. `core` ideas decide the verdict; the others are details.

    `misconceptions` are opposite claims: a reply stating one never gets this term.
    `required` is the old name of `core` (a file may still say it; it means the same).
    """

    term: str
    aliases: tuple[str, ...]
    weight: float = 1.0
    required: bool = False
    variants: tuple[Variant, ...] = ()
    core: bool = False
    misconceptions: tuple[str, ...] = ()
    misconception_variants: tuple[Variant, ...] = ()


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
    subject: str | None = None  # questions asked twice, at two levels, share one subject

    @property
    def topic(self) -> str:
        """The main topic (the first one listed)."""
        return self.topics[0]

    @property
    def subject_key(self) -> str:
        """What "the same subject" means for /ask and the daily choice: the subject, else the id."""
        return self.subject or self.id

    @property
    def core_terms(self) -> tuple[KeyTerm, ...]:
        """The core ideas. A question with none marked (a test fixture, a file not yet marked)
        falls back to its heaviest terms; `content check` reports it."""
        marked = tuple(t for t in self.key_terms if t.core)
        if marked:
            return marked
        if not self.key_terms:
            return ()
        top = max(t.weight for t in self.key_terms)
        heaviest = tuple(t for t in self.key_terms if t.weight == top)
        if MIN_CORE <= len(heaviest) <= MAX_CORE:
            return heaviest
        ranked = sorted(self.key_terms, key=lambda t: -t.weight)[: min(3, len(self.key_terms))]
        return tuple(t for t in self.key_terms if t in ranked)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "level": self.level,
            "topics": list(self.topics),
            "question": self.question,
            "answer": self.answer,
            "hint": self.hint,
            "key_terms": [
                {"term": k.term, "aliases": list(k.aliases), "weight": k.weight, "core": k in self.core_terms,
                 "misconceptions": list(k.misconceptions)}
                for k in self.key_terms
            ],
            "subject": self.subject,
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
    def search_index(self) -> SearchIndex:
        """Built on first use and kept: /ask never re-reads or re-indexes the bank."""
        from .search import SearchIndex

        return SearchIndex(self)


_NAME_RE = _WORDS_RE = re.compile(r"[^\W_]+")


def _acronyms(text: str) -> set[str]:
    """Acronyms (RNN), names with inner capitals (AdamW, ResNet) and words with digits (L2) are
    names: a typo-tolerant match would confuse AdamW with Adam, L1 with L2."""
    if text.islower():  # the common case: nothing to look for
        return set()
    return {
        w.casefold()
        for w in _NAME_RE.findall(text)
        if len(w) >= 2 and (w.isupper() or any(c.isdigit() for c in w) or any(c.isupper() for c in w[1:]))
    }


_TOKENS: dict[tuple[str, bool], AliasToken] = {}  # (word, exact) -> its token: aliases share most words


def _tokens(words: list[str], acronyms: set[str]) -> tuple[AliasToken, ...]:
    content = [w for w in words if w not in STOPWORDS] or words
    out = []
    for w in content:
        key = (w, w in acronyms or len(w) <= 3)
        token = _TOKENS.get(key)
        if token is None:
            if len(_TOKENS) > 100_000:  # bounded: generated banks must not grow memory forever
                _TOKENS.clear()
            token = _TOKENS[key] = AliasToken(w, stem(w), key[1])
        out.append(token)
    return tuple(out)


@lru_cache(maxsize=32_768)  # a fifth of the bank's aliases repeat ("backprop", "ReLU", ...)
def prepare_variants(text: str) -> tuple[Variant, ...]:
    """An alias as the grader reads it: its own words, and the same after the shared vocabulary
    (so "BN" also reads "batch normalization"). Filler words are dropped; acronyms and short
    words are marked exact. A leading `~` makes the alias order-free."""
    ordered = not text.startswith(ORDER_FREE)
    text = text.lstrip(ORDER_FREE).strip()
    acronyms = _acronyms(text)
    words = _WORDS_RE.findall(normalize(text))  # the words of `scan`, without clauses (not needed here)
    out = [Variant(text, _tokens(words, acronyms), ordered)]
    canonical = canonical_text_words(words)
    if canonical is not words:
        out.append(Variant(text, _tokens(canonical, acronyms), ordered))
    if words and words[0] == "no":  # an idea that means "no X" is also said "without X"
        out.append(Variant(text, _tokens(["without", *canonical[1:]], acronyms), ordered))
    return tuple(out)


def prepare_variant(text: str) -> Variant:
    """The alias's own words (see `prepare_variants`)."""
    return prepare_variants(text)[0]


def _variants(term: str, aliases: tuple[str, ...]) -> tuple[Variant, ...]:
    seen: set[tuple[str | bool, ...]] = set()  # (*stems, ordered)
    out: list[Variant] = []
    for text in (term, *aliases):
        for v in prepare_variants(text):
            key: tuple[str | bool, ...] = (*(t.stem for t in v.tokens), v.ordered)
            if v.tokens and key not in seen:
                seen.add(key)
                out.append(v)
            # "batch norm" is also written "batchnorm": add the joined form of two-word aliases.
            if len(v.tokens) == 2 and not any(t.exact for t in v.tokens):
                joined = v.tokens[0].norm + v.tokens[1].norm
                joined_stem = stem(joined)
                if (joined_stem, True) not in seen:
                    seen.add((joined_stem, True))
                    out.append(Variant(v.text, (AliasToken(joined, joined_stem, False),)))
    return tuple(out)


def _misconception_variants(texts: tuple[str, ...]) -> tuple[Variant, ...]:
    seen: set[tuple[str, ...]] = set()
    out: list[Variant] = []
    for text in texts:
        for v in prepare_variants(text):
            key = tuple(t.stem for t in v.tokens)
            if v.tokens and key not in seen:
                seen.add(key)
                out.append(v)
    return tuple(out)


def make_term(
    term: str,
    aliases: tuple[str, ...] | list[str] = (),
    weight: float = 1.0,
    required: bool = False,
    *,
    core: bool = False,
    misconceptions: tuple[str, ...] | list[str] = (),
) -> KeyTerm:
    """A prepared key term, as the loader builds it (for tests and generated banks)."""
    aliases = tuple(aliases)
    misconceptions = tuple(misconceptions)
    return KeyTerm(term, aliases, float(weight), required, _variants(term, aliases), core or required,
                   misconceptions, _misconception_variants(misconceptions))


def load_topics(path: Path = TOPICS_FILE) -> tuple[tuple[Topic, ...], list[Problem]]:
    problems: list[Problem] = []
    try:
        data = read_toml(path)
    except TOML_ERRORS as exc:
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
    core = raw.get("core", False)
    if not isinstance(core, bool):
        problems.append(Problem(file, qid, f"key term {term!r}: `core` must be true or false"))
        core = False
    misconceptions = raw.get("misconceptions", [])
    if not isinstance(misconceptions, list) or not all(isinstance(m, str) and m.strip() for m in misconceptions):
        problems.append(Problem(file, qid, f"key term {term!r}: `misconceptions` must be a list of non-empty strings"))
        misconceptions = []
    aliases_t = tuple(a.strip() for a in aliases)
    variants = _variants(term.strip(), aliases_t)
    if not variants:
        problems.append(Problem(file, qid, f"key term {term!r} has no words to match"))
        return None
    misconceptions_t = tuple(m.strip() for m in misconceptions)
    return KeyTerm(term.strip(), aliases_t, float(weight), required, variants, core or required,
                   misconceptions_t, _misconception_variants(misconceptions_t))


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
    subject = raw.get("subject")
    if subject is not None and (not isinstance(subject, str) or not _ID_RE.match(subject)):
        problems.append(Problem(file, qid, "`subject` must be a slug: lowercase letters, digits and '-'"))
        subject = None
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
        subject=subject,
    )


def _check_answers(questions: list[Question], problems: list[Problem]) -> None:
    """The model answer must state every key term and grade `correct` against itself."""
    from .grading import grade_reply

    for q in questions:
        if not q.key_terms:
            continue
        grade = grade_reply(q, q.answer)
        for term in grade.missed:
            if term in grade.contradicted:
                continue
            problems.append(Problem(q.source, q.id, f"key term {term!r}: neither it nor an alias is in the model answer"))
        for term, said in grade.misconceptions:
            problems.append(Problem(q.source, q.id, f"the model answer states a misconception of {term!r}: {said!r}"))
        if grade.verdict != "correct" and not grade.missed:
            problems.append(Problem(q.source, q.id, f"the model answer grades {grade.verdict}, not correct"))


def domain_words(topics: tuple[Topic, ...] | list[Topic]) -> set[str]:
    """Words that are deep-learning terms in their own right: every word of the shared
    vocabulary and of the topic list. Any other word is "common" (see `check_rubric`)."""
    words = set(phrasebook().words)
    for t in topics:
        for text in (t.slug.replace("-", " "), t.title, *t.aliases):
            words.update(tok.norm for tok in tokenize(normalize(text)))
    return words - STOPWORDS


def check_rubric(questions: list[Question], topics: tuple[Topic, ...] | list[Topic], problems: list[Problem]) -> None:
    """The rubric rules of docs/CONTENT.md that go beyond one field:

    - 2–4 core ideas per question;
    - no alias of a core idea made only of the question's own words;
    - no alias written as several words that reduces, once filler is dropped, to one common
      word ("every threshold" -> "threshold", "from scratch" -> "scratch");
    - no alias of a term states a whole misconception of that term (an alias may be part of
      one: "vanishing gradients" in "worsens vanishing gradients"; where both match a reply,
      the misconception wins).
    """
    from .grading import aliases_stating

    domain = domain_words(topics)
    for q in questions:
        cores = sum(t.core for t in q.key_terms)
        if not MIN_CORE <= cores <= MAX_CORE:
            problems.append(Problem(q.source, q.id, f"{cores} core ideas (mark {MIN_CORE}–{MAX_CORE} key terms `core = true`)"))
        asked = set(tokens_of(q.question))
        for term in q.key_terms:
            if term.core:
                for v in term.variants:
                    if all(t.stem in asked for t in v.tokens):
                        problems.append(Problem(q.source, q.id, f"alias {v.text!r} of core idea {term.term!r} only repeats "
                                                                f"the question's words: a reply that restates the question would earn it"))
                        break
            for text in (term.term, *term.aliases):
                bare = text.lstrip(ORDER_FREE)
                raw = _NAME_RE.findall(bare.lower())  # cheap first look: most aliases keep two words
                if len(raw) < 2 or sum(w not in STOPWORDS for w in raw) > 1:
                    continue
                words = canonical_text_words(scan(normalize(bare))[0])
                content = [w for w in words if w not in STOPWORDS]
                if len(words) > 1 and len(content) == 1 and content[0] not in domain and content[0] not in _acronyms(bare):
                    problems.append(Problem(q.source, q.id, f"alias {text!r} of {term.term!r} reduces to the common word "
                                                            f"{content[0]!r} (say more, or drop it)"))
            for alias, said in aliases_stating(term):
                problems.append(Problem(q.source, q.id, f"alias {alias!r} of {term.term!r} states its own "
                                                        f"misconception {said!r}"))


def vocabulary_problems() -> list[Problem]:
    return [Problem("vocabulary.toml", "", p.message) for p in phrasebook().problems]


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


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: loading makes some 100,000 small tuples that live on,
    and each of them would otherwise trigger collections that walk all the others (about half the
    load time). Nothing the loader makes is a reference cycle; reference counting frees the rest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Not gc.freeze(): it would move every object of the process, not only the bank, out of
        # collection for good, and tests load many banks in one process.
        if was_enabled:
            gc.enable()


def read_bank(
    questions_dir: Path = QUESTIONS_DIR, topics_file: Path = TOPICS_FILE, *, check: bool = True
) -> tuple[Bank, list[Problem]]:
    """Load every question file, returning the bank of valid entries and every problem found.

    `check` adds the rubric checks that grade text (every model answer grades correct, no alias
    states a misconception, ...): `content check` and CI run them; the bot's start does not
    (see `load_bank`).
    """
    with _no_cycle_collection():
        return _read_bank(questions_dir, topics_file, check)


def _read_bank(questions_dir: Path, topics_file: Path, check: bool) -> tuple[Bank, list[Problem]]:
    topics, problems = load_topics(topics_file)
    slugs = {t.slug for t in topics}
    files = sorted(Path(questions_dir).glob("*.toml"))
    if not files:
        problems.append(Problem(str(questions_dir), "", "no question files (*.toml) found"))
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    for path in files:
        try:
            data = read_toml(path)
        except TOML_ERRORS as exc:
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
    problems.extend(vocabulary_problems())
    from .grading import index_questions

    index_questions(questions)
    if check:
        _check_answers(questions, problems)
        _check_near_duplicates(questions, problems)
        check_rubric(questions, topics, problems)
    return Bank(tuple(questions), topics), problems


def load_bank(questions_dir: Path = QUESTIONS_DIR, topics_file: Path = TOPICS_FILE, *, check: bool = False) -> Bank:
    """Load the bank, refusing one with problems: the bot must never run on broken content.

    Broken means what the loader itself finds (unreadable TOML, missing fields, unknown topics,
    duplicate ids, an alias under two terms). The rubric checks that grade text (`check=True`,
    what `tutor-bot content check` runs) take longer than the rest of the load together; CI runs
    them on every change (tests/test_bank.py), so the bot starts without repeating them.
    """
    bank, problems = read_bank(questions_dir, topics_file, check=check)
    if problems:
        raise ContentError(problems)
    return bank
