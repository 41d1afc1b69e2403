"""Pure content layer: the question bank, the grader and the topic search (no Telegram, no SQL)."""

from .bank import Bank, ContentError, KeyTerm, Problem, Question, Topic, load_bank, read_bank
from .grading import Grade, TermMatch, grade_reply, is_keyword_list
from .search import SearchHit, closest_topics, find_questions

__all__ = [
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
    "find_questions",
    "grade_reply",
    "is_keyword_list",
    "load_bank",
    "read_bank",
]
