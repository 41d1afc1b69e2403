"""Pure content layer: the question bank, the grader and the topic search (no Telegram, no SQL)."""

from .bank import Bank, ContentError, KeyTerm, Problem, Question, Topic, load_bank, read_bank
from .grading import (
    CORE_SHARE,
    MISSABLE_CORE_FROM,
    PARTIAL_DETAILS,
    WRONG_MARGIN,
    WRONG_WEIGHT,
    Grade,
    TermMatch,
    explain,
    grade_reply,
    is_keyword_list,
)
from .search import SearchHit, closest_topics, find_questions

__all__ = [
    "CORE_SHARE",
    "MISSABLE_CORE_FROM",
    "PARTIAL_DETAILS",
    "WRONG_MARGIN",
    "WRONG_WEIGHT",
    "Bank",
    "ContentError",
    "Grade",
    "KeyTerm",
    "Problem",
    "Question",
    "SearchHit",
    "TermMatch",
    "Topic",
    "closest_topics",
    "explain",
    "find_questions",
    "grade_reply",
    "is_keyword_list",
    "load_bank",
    "read_bank",
]
