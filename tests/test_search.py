"""/ask's topic search on the shipped bank: learners' spellings find the right entry first."""

from __future__ import annotations

import pytest

from content import closest_topics, find_questions, load_bank


@pytest.fixture(scope="module")
def real_bank():
    return load_bank()


@pytest.mark.parametrize(
    "query, topic",
    [
        ("dropout", "dropout"),
        ("dropuot", "dropout"),
        ("lstm", "lstm-gru"),
        ("LSTMs", "lstm-gru"),
        ("vanishing grads", "vanishing-gradients"),
        ("vanishing gradient", "vanishing-gradients"),
        ("batch norm", "normalization"),
        ("batchnorm", "normalization"),
        ("GANs", "gans"),
        ("what is transfer learning", "transfer-learning"),
        ("autoencoder", "autoencoders"),
        ("backprop", "backpropagation"),
        ("pooling", "pooling"),
        ("weight initialisation", "weight-initialization"),
    ],
)
def test_query_finds_the_right_entry_first(real_bank, query, topic):
    hits = find_questions(real_bank, query)
    assert hits, query
    assert real_bank.get(hits[0].question_id).topic == topic, [h.question_id for h in hits]


@pytest.mark.parametrize("query", ["", "   ", "pizza recipe", "🙂", "zzzzzz qqqqq"])
def test_nothing_close_returns_nothing(real_bank, query):
    assert find_questions(real_bank, query) == []


def test_closest_topics_are_offered_when_nothing_matches(real_bank):
    slugs = closest_topics(real_bank, "convnets for pictures")
    assert len(slugs) == 3
    assert all(s in real_bank.topic_titles for s in slugs)


def test_scores_are_ranked_and_bounded(real_bank):
    hits = find_questions(real_bank, "attention", limit=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0 < h.score <= 100 for h in hits)
