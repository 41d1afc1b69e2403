"""/ask's topic search on the shipped bank: learners' spellings find the right entry first."""

from __future__ import annotations

import pytest

from content import closest_topics, find_questions
from tests.learners import shipped_bank


@pytest.fixture(scope="module")
def real_bank():
    return shipped_bank()


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


# /ask ranks by main subject (issue 17): a query naming a subject returns the question *about*
# it first, not one that merely involves it; twins (one subject at two levels) count as one.
@pytest.mark.parametrize(
    "query, first",
    [
        ("dropout", {"dropout-how", "dropout-role"}),  # not dropout-batchnorm-conflict
        ("dropuot", {"dropout-how", "dropout-role"}),
        ("kv cache", {"kv-cache"}),  # not transformers-vs-rnns
        ("KV caching", {"kv-cache"}),
        ("batch norm", {"batch-norm-purpose", "batch-norm-benefits"}),
        ("BN", {"batch-norm-purpose", "batch-norm-benefits"}),
        ("layer norm", {"layer-norm-in-transformers"}),  # not the batch-norm questions
        ("positional encoding", {"positional-encodings"}),  # not relative-positions-rope
        ("self attention", {"self-attention-mechanism"}),  # not cross-attention
        ("resnet", {"resnet-skip-connections"}),  # not densenet-vs-resnet
        ("lstm", {"lstm-explained", "lstm-vs-rnn"}),  # not gru-vs-lstm
        ("gru", {"gru-vs-lstm"}),
        ("rnn", {"rnn-when", "rnn-sequential"}),  # not bidirectional-rnn
        ("cnn", {"cnn-how", "cnn-architecture"}),
        ("gan", {"gans-what", "gans-how"}),  # not gan-mode-collapse
        ("gradient clipping", {"gradient-clipping"}),
        ("receptive field", {"receptive-field"}),
        ("1x1 convolution", {"one-by-one-convolution"}),
        ("sgd", {"sgd-vs-minibatch-gd"}),
        ("vanishing gradients", {"vanishing-gradient-effects", "vanishing-gradient-mitigation"}),
    ],
)
def test_the_question_about_the_subject_comes_first(real_bank, query, first):
    hits = find_questions(real_bank, query)
    assert hits and hits[0].question_id in first, [h.question_id for h in hits]


@pytest.mark.parametrize("query", ["dropout", "lstm", "batch norm", "gans", "vanishing gradients", "backprop", "cnn"])
def test_a_subject_asked_at_two_levels_is_one_hit_with_its_twin(real_bank, query):
    hits = find_questions(real_bank, query, limit=5)
    subjects = [real_bank.get(h.question_id).subject_key for h in hits]
    assert len(subjects) == len(set(subjects))
    top = real_bank.get(hits[0].question_id)
    twins = [q.id for q in real_bank.questions if q.subject and q.subject == top.subject and q.id != top.id]
    assert list(hits[0].twins) == twins and twins, top.id
