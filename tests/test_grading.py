"""How the grader judges replies — each test pins one rule from docs/CONTENT.md."""

from __future__ import annotations

import pytest

from content import Question, explain, grade_reply, is_keyword_list
from content.bank import make_term


@pytest.fixture
def dropout(bank):
    return bank.get("dropout-mini")


@pytest.fixture
def rnn(bank):
    return bank.get("rnn-mini")


def test_model_answer_grades_correct(bank):
    for q in bank.questions:
        grade = grade_reply(q, q.answer)
        assert grade.verdict == "correct" and grade.score == 1.0, q.id


def test_paraphrase_with_typos_is_correct(dropout):
    grade = grade_reply(dropout, "drpout randomly zeroes nurons during traning so they cant co-adapt; less overfiting")
    assert grade.verdict == "correct"
    assert {"regularization", "randomly zeroes units", "co-adaptation"} <= set(grade.matched_terms)


def test_british_spelling_and_word_forms_match(dropout):
    grade = grade_reply(dropout, "It regularises the net.")
    assert "regularization" in grade.matched_terms


def test_match_reports_where_it_was_found(dropout):
    reply = "Basically it prevents the model from overfitting."
    grade = grade_reply(dropout, reply)
    match = next(m for m in grade.matched if m.term == "regularization")
    assert match.text == "prevents the model from overfitting"
    assert reply.lower()[match.start : match.end] == match.text


def test_matches_are_in_reply_order_and_compare_by_where_they_were_found(dropout):
    """Offsets are worked out only when read (the bot shows term names only); they must be the
    same whenever they are read, and equal grades of one reply must compare equal."""
    reply = "Dropout randomly zeroes units during training. It is a form of regularization."
    first, again = grade_reply(dropout, reply), grade_reply(dropout, reply)
    starts = [m.start for m in first.matched]
    assert starts == sorted(starts) and len(starts) >= 2
    assert first.matched == again.matched and len(set(first.matched) | set(again.matched)) == len(first.matched)
    shifted = grade_reply(dropout, "So: " + reply)
    assert [m.term for m in shifted.matched] == [m.term for m in first.matched]
    assert shifted.matched != first.matched  # same terms, found elsewhere
    assert f"start={first.matched[0].start}" in repr(first.matched[0])
    assert first.to_dict()["found"][0]["text"] == first.matched[0].text


def test_multi_word_terms_allow_free_order(rnn):
    grade = grade_reply(rnn, "the gradients vanish over long sequences")
    assert "vanishing gradients" in grade.matched_terms


def test_negated_term_does_not_count(dropout):
    grade = grade_reply(dropout, "Dropout is not a regularizer and it doesn't reduce overfitting.")
    assert "regularization" not in grade.matched_terms
    assert "regularization" in grade.negated
    assert grade.verdict == "incorrect"


def test_not_only_is_not_a_negation(dropout):
    grade = grade_reply(dropout, "It is not only a regularizer but also an ensemble.")
    assert "regularization" in grade.matched_terms


def test_negation_stops_at_clause_boundary(dropout):
    grade = grade_reply(dropout, "Not a speed trick. It reduces overfitting.")
    assert "regularization" in grade.matched_terms


def one_term_question(term: str, *aliases: str) -> Question:
    filler = [make_term(f"filler {i}") for i in range(3)]
    return Question("t", "intermediate", ("rnn",), "q?", "a", (make_term(term, aliases), *filler))


@pytest.mark.parametrize("term, reply", [("RNN", "CNN"), ("GAN", "GRU"), ("RNA", "DNA"), ("BN", "LN")])
def test_acronyms_are_never_fuzzed(term, reply):
    grade = grade_reply(one_term_question(term), f"We would use a {reply} here.")
    assert grade.matched == ()
    assert grade_reply(one_term_question(term), f"We would use a {term} here.").matched_terms == [term]


def test_acronym_plural_counts(rnn):
    assert "LSTM" in grade_reply(rnn, "that's why people use GRUs").matched_terms


def test_word_inside_another_word_does_not_match(rnn):
    # partial_ratio would find "state" inside "statement"; the grader works on whole words.
    grade = grade_reply(rnn, "A hiddenstatement overall.")
    assert "hidden state" not in grade.matched_terms


def test_terms_spread_far_apart_do_not_form_a_phrase(rnn):
    grade = grade_reply(rnn, "The hidden layer of a feed-forward net has one output per neuron and no state.")
    assert "hidden state" not in grade.matched_terms


def test_answer_to_another_question_fails(dropout):
    grade = grade_reply(dropout, "Pooling reduces the spatial size of feature maps by taking the max of each window.")
    assert grade.verdict == "incorrect"


def test_keyword_list_is_capped_at_partial(dropout):
    reply = "regularization, random zeroing, co-adaptation, rescale, off at inference"
    assert is_keyword_list(reply)
    grade = grade_reply(dropout, reply)
    assert grade.score >= 0.7
    assert grade.verdict == "partial" and grade.keyword_list


def test_partial_answer(dropout):
    grade = grade_reply(dropout, "It randomly drops neurons while training.")
    assert grade.verdict == "partial"
    assert grade.core_found == ("randomly zeroes units",) and grade.core_missed == ("regularization",)


def test_both_core_ideas_are_correct_without_any_detail(dropout):
    grade = grade_reply(dropout, "It randomly drops neurons while training, so less overfitting.")
    assert grade.verdict == "correct"
    assert set(grade.details_missed) == {"co-adaptation", "scaled by 1/(1-p)", "off at inference"}


@pytest.mark.parametrize(
    "reply, reason",
    [("", "empty reply"), ("   \n\t ", "empty reply"), ("🙂🔥🙂", "no words to grade"), ("!!! ??? ...", "no words to grade")],
)
def test_empty_and_wordless_replies_are_incorrect_with_reason(dropout, reply, reason):
    grade = grade_reply(dropout, reply)
    assert grade.verdict == "incorrect" and grade.score == 0.0 and grade.reason == reason


@pytest.mark.parametrize(
    "reply",
    [
        "<b>Dropout</b> <script>alert(1)</script> randomly drops neurons",
        "**Dropout** _randomly_ drops `neurons` [link](http://x)",
        "الإسقاط يمنع فرط التخصيص randomly drops neurons",
        "Dropout 随机丢弃神经元 randomly drops neurons",
        "x" * 10_000,
        "randomly drops neurons " * 800,
    ],
)
def test_messy_replies_grade_without_error(dropout, reply):
    grade = grade_reply(dropout, reply)
    assert 0.0 <= grade.score <= 1.0
    assert grade.verdict in ("correct", "partial", "incorrect")


def test_negation_inside_a_free_order_phrase(rnn):
    assert "vanishing gradients" in grade_reply(rnn, "the gradients vanish").matched_terms
    assert "vanishing gradients" not in grade_reply(rnn, "the gradients never vanish").matched_terms


def test_contraction_typed_without_apostrophe_negates(dropout):
    grade = grade_reply(dropout, "it doesnt reduce overfitting")
    assert "regularization" in grade.negated


def test_negation_distance_counts_content_words_only(dropout):
    grade = grade_reply(dropout, "it has nothing to do with the idea of reducing overfitting")
    assert "regularization" not in grade.matched_terms


def test_phrase_may_not_be_assembled_across_sentences(rnn):
    grade = grade_reply(rnn, "The layer is hidden. State machines are different.")
    assert "hidden state" not in grade.matched_terms


def test_decimal_point_and_eg_do_not_end_a_sentence(rnn):
    assert "hidden state" in grade_reply(rnn, "hidden 0.5 state").matched_terms
    assert "hidden state" in grade_reply(rnn, "a hidden (e.g. recurrent) state").matched_terms


def test_short_words_are_not_fuzzed():
    question = one_term_question("pool layer")
    assert grade_reply(question, "poll layer").matched == ()
    assert grade_reply(question, "pool lyer").matched == ()  # a typed word of 4 letters is never fuzzed
    assert grade_reply(one_term_question("pool layer"), "pool layre").matched_terms == ["pool layer"]


# --- The rubric: core ideas, details, misconceptions (issue 17) --------------------------------


def rubric(*terms, qid: str = "r") -> Question:
    """A small synthetic question: `terms` are (term, aliases, core[, misconceptions])."""
    made = tuple(make_term(t[0], t[1], core=t[2], misconceptions=t[3] if len(t) > 3 else ()) for t in terms)
    return Question(qid, "intermediate", ("dropout",), "q?", "a", made)


LR = rubric(
    ("step size of each update", ["how big each update step is", "size of the step"], True),
    ("too large diverges", ["too big and it diverges", "too high diverges"], True),
    ("too small is slow", ["too small and it crawls", "too low is slow", "too small converges slowly"], True),
    ("schedules", ["learning rate schedule", "warmup", "decay"], False),
    ("tuned by search", ["tuning", "grid search"], False),
)


def test_every_core_idea_is_correct_and_details_never_block_it():
    grade = grade_reply(LR, "lr = how big each update step is; too big and it diverges, too small and it crawls")
    assert grade.verdict == "correct"
    assert grade.details_missed == ("schedules", "tuned by search")
    assert 0.7 < grade.score < 1.0  # details add to the score


def test_a_missing_core_idea_of_three_is_partial():
    grade = grade_reply(LR, "how big each update step is, and if too big it diverges")
    assert grade.verdict == "partial" and grade.core_missed == ("too small is slow",)


FOUR = rubric(
    ("queries", ["query vector"], True),
    ("keys", ["key vector"], True),
    ("values", ["value vector"], True),
    ("softmax weights", ["softmax"], True, ["no softmax", "sigmoid instead of softmax"]),
    ("scaled by root d", ["square root of d"], False),
)


def test_with_four_core_ideas_one_may_be_missing():
    assert grade_reply(FOUR, "each token has a query vector, a key vector and a value vector").verdict == "correct"
    assert grade_reply(FOUR, "each token has a query vector and a key vector").verdict == "partial"


def test_a_contradicted_core_idea_blocks_correct():
    grade = grade_reply(FOUR, "query vector, key vector and value vector are combined with a sigmoid instead of softmax")
    assert grade.verdict == "partial"
    assert grade.contradicted == ("softmax weights",)
    assert grade.misconceptions == (("softmax weights", "sigmoid instead of softmax"),)
    assert "softmax weights" not in grade.matched_terms  # a stated misconception never earns its term
    negated = grade_reply(FOUR, "the query vector and key vector and value vector do not use a softmax")
    assert negated.verdict == "partial" and negated.contradicted == ("softmax weights",)


def test_a_negated_misconception_is_no_contradiction():
    grade = grade_reply(FOUR, "query vector, key vector, value vector; it is not a sigmoid instead of softmax, it is a softmax")
    assert grade.verdict == "correct" and grade.contradicted == ()


def test_one_core_idea_alone_is_partial_and_nothing_is_incorrect():
    assert grade_reply(LR, "it's the size of the step").verdict == "partial"
    assert grade_reply(LR, "it is a number you pick").verdict == "incorrect"


def test_a_detail_alone_is_a_clear_part_of_the_answer(monkeypatch):
    import content.grading as grading

    monkeypatch.setattr(grading, "PARTIAL_DETAILS", 1)
    assert grade_reply(LR, "you usually use a warmup").verdict == "partial"
    monkeypatch.setattr(grading, "PARTIAL_DETAILS", 2)
    assert grade_reply(LR, "you usually use a warmup").verdict == "incorrect"
    assert grade_reply(LR, "you usually use a warmup and grid search").verdict == "partial"


def test_explain_lists_core_ideas_first_then_details():
    lines = explain(grade_reply(LR, "too big and it diverges; people use a warmup"))
    text = "\n".join(lines)
    assert lines[0].startswith("Partial:")
    assert text.index("Core ideas you stated: too large diverges") < text.index("Core ideas missing:")
    assert text.index("Core ideas missing: step size of each update, too small is slow") < text.index("Also worth saying: tuned by search")
    contradicted = "\n".join(explain(grade_reply(FOUR, "query vector, key vector, value vector, no softmax")))
    assert "Contradicted: softmax weights" in contradicted and "no softmax" in contradicted
    assert grade_reply(LR, "size of the step").to_dict()["explanation"] == explain(grade_reply(LR, "size of the step"))


# --- Negation scoped to its clause -------------------------------------------------------------

ACT = rubric(
    ("ReLU", ["relu", "rectified linear unit"], True),
    ("batch normalization", ["batch norm"], True),
    ("regularization", ["reduces overfitting", "less overfitting"], False),
)


@pytest.mark.parametrize(
    "reply",
    [
        "first layers barely learn, fix it w relu + batchnorm",
        "first layers dont learn fix it w relu + batchnorm",
        "gradients dont reach the early layers so use relu and BN",
        "the early layers do not learn because of sigmoid but relu and BN fix that",
    ],
)
def test_a_negation_does_not_reach_into_the_next_clause(reply):
    grade = grade_reply(ACT, reply)
    assert {"ReLU", "batch normalization"} <= set(grade.matched_terms), grade.negated


def test_a_negation_still_negates_its_own_clause():
    assert "ReLU" in grade_reply(ACT, "you do not need relu here").negated
    assert "ReLU" in grade_reply(ACT, "it doesnt use relu").negated


def test_a_hedged_negation_is_not_a_negation():
    grade = grade_reply(ACT, "relu plus batch norm, and the net cant overfit as easily")
    assert "regularization" in grade.matched_terms


SCALE = rubric(
    ("scores grow large", ["dot products get too large", "scores get large"], True),
    ("neurons stay identical", ["neurons learn the same thing"], True),
)


@pytest.mark.parametrize("reply", [
    "divide by sqrt d so the dot products don't get too large",
    "it is random so that neurons don't all learn the same thing",
    "scale the scores so as not to let the scores get large",
    "x / sqrt(d) → scores don't get too large",
    "goal: no dot products that get too large",
])
def test_a_negation_in_a_purpose_clause_names_the_problem_prevented(reply):
    """"X so that Y doesn't happen" says Y would happen otherwise: it states the idea."""
    grade = grade_reply(SCALE, reply)
    assert grade.negated == () and grade.matched_terms, grade.negated


def test_a_plain_negation_of_the_problem_still_denies_it():
    assert "scores grow large" in grade_reply(SCALE, "the dot products don't get too large").negated


def test_a_negation_does_not_reach_back_past_an_example():
    grade = grade_reply(ACT, "use activations that do not flatten out like relu")
    assert "ReLU" in grade.matched_terms and not grade.negated


POOL = rubric(
    ("downsamples", ["pooling downsamples the feature maps", "halves the resolution"], True),
    ("keeps the strongest response", ["max of each window"], True),
)


def test_the_right_words_with_the_direction_reversed_contradict_the_idea():
    """content/vocabulary.toml `opposites`: "downsamples" in an alias also reads "upsamples" as
    a misconception, with no misconception written for it."""
    grade = grade_reply(POOL, "pooling upsamples the feature maps, taking the max of each window")
    assert grade.contradicted == ("downsamples",) and grade.verdict != "correct"
    assert grade.misconceptions == (("downsamples", "pooling upsamples the feature maps"),)


def test_a_reversal_must_sit_in_one_clause():
    grade = grade_reply(POOL, "the decoder upsamples, pooling downsamples the feature maps via the max of each window")
    assert grade.verdict == "correct", grade.misconceptions
    assert grade_reply(POOL, "the max of each window; the maps are not upsampled by pooling").contradicted == ()


def test_a_reversal_the_model_answer_states_is_dropped():
    terms = rubric(("downsamples", ["downsamples the feature maps"], True), ("max", ["max of each window"], True)).key_terms
    q = Question("r2", "intermediate", ("dropout",), "q?", "Pooling downsamples the feature maps, taking the max "
                 "of each window; a decoder upsamples the feature maps again.", terms)
    assert grade_reply(q, q.answer).verdict == "correct"
    assert grade_reply(q, "it upsamples the feature maps; max of each window").contradicted == ()
    other = Question("r3", "intermediate", ("dropout",), "q?", "Pooling downsamples the feature maps.", terms)
    assert grade_reply(other, "it upsamples the feature maps; max of each window").contradicted == ("downsamples",)




LSTM = rubric(
    ("mitigates vanishing gradients", ["mitigates vanishing gradients", "avoids vanishing gradients"], True),
    ("cell state", ["cell state"], True),
)


def test_a_clause_naming_both_directions_reverses_nothing():
    """"vanishing" <-> "exploding" are opposites, so "avoids exploding gradients" contradicts
    "avoids vanishing gradients"; but a clause that names both ("avoids vanishing or exploding
    gradients", "vanishing/exploding") states the idea, it does not reverse it."""
    assert grade_reply(LSTM, "the cell state avoids vanishing or exploding gradients").verdict == "correct"
    assert grade_reply(LSTM, "the cell state avoids vanishing/exploding gradients").verdict == "correct"
    wrong = grade_reply(LSTM, "the cell state avoids exploding gradients")
    assert wrong.contradicted == ("mitigates vanishing gradients",)



BIDI = rubric(
    ("unsuitable for generation", ["bad for text generation"], True, ["great for text generation"]),
    ("context from both sides", ["context from both sides"], True),
)


def test_evaluations_are_one_vocabulary_word():
    """The shared vocabulary reads "ideal for", "suited to", "great for" as "good for", and
    "unsuitable for", "no good for" as "bad for" (and good/bad are opposites): an idea and its
    misconception are matched whichever of these words a learner picks."""
    assert grade_reply(BIDI, "context from both sides, so it is unsuitable for text generation").verdict == "correct"
    wrong = grade_reply(BIDI, "context from both sides, so it is ideal for text generation")
    assert wrong.contradicted == ("unsuitable for generation",) and wrong.verdict != "correct"


CROSS = rubric(
    ("queries from the decoder", ["queries come from the decoder"], True),
    ("keys and values from the encoder", ["keys and values come from the encoder"], True),
)


def test_roles_swapped_between_opposite_names_contradict_the_idea():
    """`opposites` pairs names with opposite roles too (encoder/decoder, teacher/student, ...):
    "queries come from the encoder" swaps the roles of the model answer, a classic confusion."""
    grade = grade_reply(CROSS, "the queries come from the encoder and the keys and values come from the decoder")
    assert grade.verdict == "incorrect" and "queries from the decoder" in grade.contradicted
    assert grade_reply(CROSS, "queries come from the decoder, keys and values come from the encoder").verdict == "correct"


BIG = rubric(
    ("simulates a larger batch", ["same as a larger batch"], True),
    ("one optimiser step after several backward passes", ["one step after several backward passes"], True),
)


def test_a_reversal_elsewhere_than_where_the_reply_states_the_idea_is_no_contradiction():
    """A reply that states the idea ("the same as a larger batch") and elsewhere uses the reversed
    word in another sense ("in smaller micro-batches") is not contradicting itself."""
    grade = grade_reply(BIG, "it is the same as a larger batch: run smaller micro-batches and take one step after several backward passes")
    assert grade.verdict == "correct", grade.misconceptions


CGAN = rubric(
    ("generator gets the label", ["generator receives the label"], True),
    ("discriminator gets the label", ["discriminator also receives the label"], True),
)


def test_a_reversal_that_states_another_idea_of_the_answer_is_that_idea():
    """"the discriminator also receives the label" reads as the generator/discriminator swap of
    the first idea, but it is the second idea of the answer, not a contradiction."""
    grade = grade_reply(CGAN, "the discriminator also receives the label, to judge the pair")
    assert grade.contradicted == () and grade.core_found == ("discriminator gets the label",)


THREE = rubric(
    ("keys and values of past tokens are stored", ["stores the keys and values of past tokens"], True),
    ("avoids recomputation", ["no recomputation"], True),
    ("memory grows with the context", ["cache memory grows with context length"], True),
)


def test_most_words_of_the_last_core_idea_complete_correct():
    """Two of three core ideas stated, and most words of a phrasing of the third (here "memory",
    "grows", "context", over two sentences): the third is stated in part, and the reply is correct."""
    grade = grade_reply(THREE, "it stores the keys and values of past tokens, so no recomputation. "
                               "The price is memory. It grows as the context gets longer.")
    assert grade.verdict == "correct" and grade.core_partly == ("memory grows with the context",)
    assert "Stated in part: memory grows with the context." in explain(grade)


def test_a_word_or_two_of_the_last_core_idea_is_not_enough():
    grade = grade_reply(THREE, "it stores the keys and values of past tokens, so no recomputation; uses memory")
    assert grade.verdict == "partial" and grade.core_partly == ()


def test_part_of_an_idea_never_completes_a_reply_with_only_one_idea():
    grade = grade_reply(THREE, "no recomputation: memory grows as the context gets longer and the cache fills")
    assert grade.verdict == "partial"


def _bert_vs_gpt() -> Question:
    terms = rubric(("masked language modelling", ["masked language modelling", "masked tokens"], True),
                   ("next-token prediction", ["predicts the next token"], True)).key_terms
    return Question("cmp", "intermediate", ("dropout",), "How do BERT and GPT differ?",
                    "BERT is trained with masked language modelling. GPT predicts the next token.", terms)


def test_a_core_idea_said_of_the_other_name_compared_is_a_swap():
    """In a comparison question the model answer ties each idea to one of the names compared;
    a reply that ties it to the other one says something wrong with the right words."""
    q = _bert_vs_gpt()
    grade = grade_reply(q, "GPT is trained with masked language modelling. BERT predicts the next token.")
    assert set(grade.contradicted) == {"masked language modelling", "next-token prediction"}
    assert grade.verdict == "incorrect"
    assert grade_reply(q, "BERT uses masked language modelling, GPT predicts the next token.").verdict == "correct"


def test_a_later_mention_of_the_right_name_undoes_a_swap_only_as_a_contrast():
    q = _bert_vs_gpt()
    swapped = grade_reply(q, "GPT predicts the next token. GPT is trained on masked tokens because BERT is slow")
    assert swapped.contradicted == ("masked language modelling",)
    contrast = grade_reply(q, "GPT predicts the next token; GPT reads masked tokens, far less than BERT does")
    assert contrast.contradicted == ()


def test_a_contrast_naming_both_is_no_swap():
    q = _bert_vs_gpt()
    grade = grade_reply(q, "unlike GPT, BERT uses masked tokens. GPT predicts the next token, not BERT.")
    assert grade.contradicted == () and grade.verdict == "correct"
    assert grade_reply(q, "GPT reads left to right while BERT learns from masked tokens; GPT predicts the next token").verdict == "correct"



def _three_families() -> Question:
    terms = rubric(("GAN: sharp samples", ["sharp samples", "sharpest images"], False),
                   ("GAN: mode collapse", ["mode collapse"], True),
                   ("VAE: blurry samples", ["blurry samples"], True),
                   ("diffusion: slow sampling", ["slow to sample"], True)).key_terms
    return Question("fam", "intermediate", ("dropout",), "Strengths and weaknesses of each family?",
                    "A GAN gives sharp samples but may suffer mode collapse; a VAE gives blurry samples; "
                    "diffusion is slow to sample.", terms)


def test_terms_written_name_colon_idea_name_the_things_compared():
    """Two or more terms written "NAME: idea", each name in the question or the model answer,
    make the names compared even when the question has no "differ" or "vs": an idea, core or
    detail, said of another of those names is a swap."""
    q = _three_families()
    grade = grade_reply(q, "VAEs produce the sharpest images and diffusion models suffer from mode collapse")
    assert dict(grade.misconceptions).keys() == {"GAN: sharp samples", "GAN: mode collapse"}
    assert grade.verdict == "incorrect"
    right = grade_reply(q, "GANs: sharp samples but mode collapse; VAEs give blurry samples; diffusion is slow to sample")
    assert right.verdict == "correct" and right.misconceptions == ()


def test_names_joined_by_and_in_the_question_are_compared():
    """"How do AdaGrad and RMSProp ...": two names joined by "and" are compared, like "differ"."""
    terms = rubric(("moving average", ["exponential moving average"], True), ("sum", ["sums all past squares"], True)).key_terms
    q = Question("ada", "intermediate", ("dropout",), "How do AdaGrad and RMSProp adapt the step size?",
                 "AdaGrad sums all past squares. RMSProp keeps an exponential moving average instead.", terms)
    assert grade_reply(q, "AdaGrad keeps an exponential moving average. RMSProp sums all past squares.").verdict == "incorrect"
    # "while" / "whereas" open a clause about the other name, not a contrast that undoes the swap
    assert grade_reply(q, "AdaGrad keeps an exponential moving average, while RMSProp sums all past squares").verdict == "incorrect"
    assert grade_reply(q, "AdaGrad sums all past squares. RMSProp keeps an exponential moving average.").verdict == "correct"



def test_plain_words_the_question_lists_are_names_compared():
    """"training, validation and test sets": listed words before a noun such as "sets", "models"
    or "learning" are the things compared, even in lower case; fitting the weights belongs to
    the training set in the model answer, so saying it of the validation set is a swap."""
    terms = rubric(("fit the weights", ["fit the weights", "update the weights"], True),
                   ("tune hyperparameters", ["pick hyperparameters"], True)).key_terms
    q = Question("split", "intermediate", ("dropout",), "What are training, validation and test sets used for?",
                 "The training set is used to fit the weights. The validation set is used to pick hyperparameters.", terms)
    assert grade_reply(q, "the validation set is used to update the weights").contradicted == ("fit the weights",)
    assert grade_reply(q, "the training set is used to update the weights; the validation set to pick hyperparameters").verdict == "correct"



def test_naming_the_thing_compared_is_not_stating_what_is_true_of_it():
    """For a term written "NAME: idea", an alias that is only a name compared ("PTQ") says which
    side the reply talks about, not what it says: it credits nothing on its own."""
    terms = rubric(("PTQ: calibrate after training", ["PTQ", "calibrate after training"], True),
                   ("QAT: fake quantisation in training", ["QAT", "fake quantisation during training"], True)).key_terms
    q = Question("ptq", "intermediate", ("dropout",), "How do PTQ and QAT differ?",
                 "PTQ: calibrate after training. QAT: fake quantisation during training.", terms)
    assert grade_reply(q, "PTQ and QAT are the two kinds").verdict == "incorrect"
    assert grade_reply(q, "PTQ: calibrate after training; QAT: fake quantisation during training").verdict == "correct"



def test_the_name_an_ideas_aliases_start_with_is_its_subject():
    """When the model answer does not tie an idea to one name, two or more of its aliases that
    start with the same compared name ("encoder-only for classification", "encoder models for
    understanding") do."""
    terms = rubric(("understanding tasks", ["encoder-only for classification", "encoder models for understanding",
                                            "classification"], True),
                   ("generation", ["decoder-only for generation", "decoder models generate text", "text generation"], True)).key_terms
    q = Question("enc", "intermediate", ("dropout",), "Compare encoder-only and decoder-only transformers.",
                 "Both have their uses: classification and generation.", terms)
    assert grade_reply(q, "encoder-only for classification, decoder-only for text generation").verdict == "correct"
    swapped = grade_reply(q, "decoder-only does classification; encoder-only does text generation")
    assert set(swapped.contradicted) == {"understanding tasks", "generation"} and swapped.verdict == "incorrect"


def test_a_term_that_means_no_x_is_not_negated_by_its_own_no():
    q = rubric(("no manual features", ["no manual feature engineering", "no recurrence"], True), ("learns features", [], True))
    assert "no manual features" in grade_reply(q, "it learns features, no manual feature engineering needed").matched_terms
    assert "no manual features" in grade_reply(q, "it learns features without recurrence").matched_terms


# --- Word order, misconceptions, the shared vocabulary, typos ----------------------------------


def test_multi_word_aliases_keep_their_order():
    q = rubric(("high bias, low variance", ["high bias low variance"], True), ("simple model", [], True))
    assert grade_reply(q, "a simple model has high bias and low variance").verdict == "correct"
    assert "high bias, low variance" not in grade_reply(q, "a simple model has low bias and high variance").matched_terms


def test_an_order_free_alias_matches_in_any_order():
    q = rubric(("vanishing gradients", ["~vanishing gradients"], True), ("depth", [], True))
    assert "vanishing gradients" in grade_reply(q, "the gradients keep vanishing").matched_terms
    strict = rubric(("vanishing gradients", ["vanishing gradients"], True), ("depth", [], True))
    assert "vanishing gradients" not in grade_reply(strict, "the gradients keep vanishing").matched_terms


def test_a_stated_misconception_never_earns_its_term():
    q = rubric(("breaks symmetry", ["random init", "different weights"], True, ["all zeros", "same value"]),
               ("small variance", [], True))
    grade = grade_reply(q, "use a random init with all zeros and small variance")
    assert "breaks symmetry" not in grade.matched_terms and grade.contradicted == ("breaks symmetry",)


@pytest.mark.parametrize(
    "alias, reply",
    [
        ("batch normalization", "add BN after the conv"),
        ("BN", "add batch norm after the conv"),
        ("learning rate", "the lr is too high"),
        ("squared gradients", "an EMA of g²"),
        ("squared gradients", "an EMA of g^2"),
        ("exponential moving average", "an EMA of g"),
        ("sum of absolute values", "adds the sum |w| to the loss"),
        ("queries, keys and values", "project to Q, K, V"),
        ("dimensionality reduction", "it does dim reduction"),
        ("kaiming initialization", "He init keeps the variance"),
        ("key value cache", "the KV cache stores past keys"),
        ("gradient of the loss", "compute dL/dw by the chain rule"),
        ("generative adversarial networks", "two GANs"),
        ("learning rate increases", "the lr goes up step by step"),
        ("stacked linear layers", "stacked straight-line layers are still one map"),
        ("decrease the learning rate", "ramp down the LR"),
        ("learning rate", "scale by η"),
    ],
)
def test_the_shared_vocabulary_applies_to_every_question(alias, reply):
    q = rubric((alias, [], True), ("other idea", [], True))
    assert alias in grade_reply(q, reply).matched_terms


def test_vocabulary_matches_keep_their_place_in_the_reply():
    q = rubric(("batch normalization", [], True), ("other idea", [], True))
    reply = "Then add BN after it."
    match = grade_reply(q, reply).matched[0]
    assert match.text == "bn" and reply.lower()[match.start : match.end] == "bn"


def test_a_transposition_in_a_short_word_is_one_typo():
    q = rubric(("image augmentation", [], True), ("labels", [], True))
    assert "image augmentation" in grade_reply(q, "imgae augmentation keeps the labels").matched_terms


def test_a_negation_inside_an_if_clause_does_not_contradict():
    q = rubric(("breaks symmetry", ["breaks symmetry"], True), ("right scale", ["variance"], True))
    conditional = grade_reply(q, "if the weights are all zero nothing breaks symmetry. keep the variance right")
    assert conditional.contradicted == () and conditional.verdict == "partial"
    plain = grade_reply(q, "random init never breaks symmetry, keep the variance right")
    assert plain.contradicted == ("breaks symmetry",)


def test_a_term_that_means_no_x_is_not_contradicted_by_a_negation():
    q = rubric(("sampling blocks backprop", ["can't backpropagate through sampling", "random sampling"], True),
               ("z = mu + sigma eps", ["mu + sigma * eps"], True))
    grade = grade_reply(q, "u cant backprop through random sampling so do z = mu + sigma*eps")
    assert grade.contradicted == ()


@pytest.mark.parametrize("reply", ["train: fit weights; val: tune, early stop; test: used once",
                                   "too big lr -> diverges, too small -> slow, schedules"])
def test_terse_notes_that_say_how_things_relate_are_not_a_keyword_list(reply):
    assert not is_keyword_list(reply)


def test_a_slash_inside_a_note_does_not_cut_it_into_keywords():
    """"w/", "w/o" and "mean/var" are shorthand inside one phrase; a slash between spaces still
    separates keywords."""
    assert not is_keyword_list("scale inputs w/ batch mean/var, learnable shift, faster training")
    assert is_keyword_list("regularization / random zeroing / co-adaptation")


def test_chat_contractions_negate_like_their_long_form():
    assert "ReLU" in grade_reply(ACT, "it doesnt use relu at all").negated
    assert "ReLU" in grade_reply(ACT, "it doesn't use relu at all").negated


def test_a_typo_in_an_inflected_word_is_one_edit_from_its_stem():
    q = rubric(("softens the targets", ["softens the labels"], True), ("teacher", [], True))
    assert "softens the targets" in grade_reply(q, "the teacher sofetns the labels").matched_terms
    short = rubric(("decides what to forget", [], True), ("gates", [], True))
    assert "decides what to forget" not in grade_reply(short, "the decoder gates what to forget").matched_terms


def test_a_contraction_with_a_space_for_the_apostrophe_still_negates():
    assert "ReLU" in grade_reply(ACT, "it can t use relu").negated


def test_without_x_is_a_counterfactual_not_a_contradiction():
    q = rubric(("non-linearity", ["non-linear"], True), ("layers collapse to one linear map", ["still linear"], True))
    grade = grade_reply(q, "without a non-linear step in between, any stack of layers is still linear")
    assert grade.contradicted == () and grade.core_found == ("layers collapse to one linear map",)
    assert grade_reply(q, "there is nothing non-linear about it, it is still linear").contradicted == ("non-linearity",)


def test_a_malformed_pair_of_opposites_is_reported(tmp_path):
    from content.vocabulary import read_vocabulary

    path = tmp_path / "vocabulary.toml"
    path.write_text('opposites = [["grows", "shrinks"], ["goes up", "down"], ["alone"]]\n', encoding="utf-8")
    vocab = read_vocabulary(path)
    assert vocab.opposites == [("grows", "shrinks")]
    assert len(vocab.problems) == 2 and all("pair of single words" in str(p) for p in vocab.problems)


def test_a_question_asks_and_states_nothing():
    """A learner who answers with a question ("is this the same as...?") states no idea, even
    when the question uses the rubric's words; the statement next to it still counts."""
    q = rubric(("encoder compresses the input", ["encoder compresses"], True),
               ("decoder reconstructs it", ["decoder reconstructs"], True))
    assert grade_reply(q, "wait, does the encoder compress the input like in a transformer?").verdict == "incorrect"
    assert grade_reply(q, "can u explain why the encoder compresses stuff").verdict == "incorrect"
    mixed = grade_reply(q, "is that right? the encoder compresses the input and the decoder reconstructs it")
    assert mixed.verdict == "correct"
    # a question mark after a statement is a check, not a question ("labels aligned?")
    assert grade_reply(q, "encoder compresses the input, decoder reconstructs it?").verdict == "correct"
    # a question that offers an explanation is a tentative answer
    assert grade_reply(q, "is it because the encoder compresses the input?").verdict == "partial"


def test_a_word_is_never_read_as_a_typo_of_its_opposite():
    """"maximizes" is two edits from "minimizes", within the typos a 9-letter word may carry; a
    word of the shared vocabulary's opposites is the word it is, not a typo of the other one."""
    q = rubric(("maximises the lower bound", ["maximizes the elbo"], True, ["minimizes the elbo"]),
               ("reconstruction term", ["reconstruction"], True))
    grade = grade_reply(q, "training maximises the ELBO: a reconstruction term plus a KL term")
    assert grade.verdict == "correct" and grade.misconceptions == ()
    assert grade_reply(q, "training minimises the ELBO, a reconstruction term").contradicted == ("maximises the lower bound",)
    assert "maximises the lower bound" in grade_reply(q, "it maxmizes the elbo").core_found  # a real typo still counts


def test_not_losing_something_is_keeping_it():
    """The shared vocabulary reads "doesn't lose", "without losing", "preserves" and "retains"
    as "keeps", on both sides: one alias covers them all."""
    q = rubric(("keeps resolution", ["keeps the resolution"], True), ("gaps in the kernel", ["gaps in the kernel"], True))
    for reply in ("gaps in the kernel so u dont lose resolution", "gaps in the kernel, without losing resolution",
                  "it preserves the resolution thanks to gaps in the kernel"):
        assert grade_reply(q, reply).verdict == "correct", reply
    assert grade_reply(q, "gaps in the kernel but you lose resolution").verdict == "partial"


def test_note_taking_abbreviations_read_as_their_words():
    """fwd, bwd, mem, AE, LM, feats, ckpt, vec, std, px, seg: shorthand every deep-learning
    question means the same by."""
    q = rubric(("recompute in the backward pass", ["recompute during the backward pass"], True),
               ("saves memory", ["saves memory", "less activation memory"], True))
    assert grade_reply(q, "store acts at checkpoints only, bwd recomputes the fwd -> saves mem").verdict == "correct"
    ae = rubric(("autoencoder features", ["autoencoder learns features"], True), ("x", ["reconstructs the input"], True))
    assert grade_reply(ae, "the AE learns feats by it reconstructs the input").verdict == "correct"


def test_an_alias_naming_one_direction_of_a_term_with_both_is_no_reversal():
    """A term that names both directions ("forward and backward RNNs") is not contradicted by a
    reply that names one of them first: "backward RNN" (two words as written, however many once
    "RNN" is spelled out) reversed is "forward RNN", which the term also says."""
    q = rubric(("two RNNs, forward and backward", ["backward RNN", "fwd and bwd"], True),
               ("past and future", ["past and future"], True))
    grade = grade_reply(q, "a fwd RNN over x_1..x_T, then one bwd over x_T..x_1 -> each step sees past and future")
    assert grade.contradicted == () and grade.verdict == "correct"


def test_a_wrong_claim_outweighs_a_right_one():
    """One idea contradicted next to two stated is "incorrect" (fluent but wrong); next to three
    stated it is "partial" (the core with a notable error)."""
    q = rubric(("teacher is large", ["large teacher"], True),
               ("soft targets", ["soft targets"], True, ["hard targets only"]),
               ("temperature softens", ["temperature softens"], True, ["temperature is the learning rate"]),
               ("student is small", ["small student"], True))
    two_right = grade_reply(q, "a large teacher gives soft targets. the temperature is the learning rate")
    assert two_right.contradicted == ("temperature softens",) and two_right.verdict == "incorrect"
    three_right = grade_reply(q, "a large teacher gives soft targets to a small student; the temperature is the learning rate")
    assert three_right.verdict == "partial"


def test_a_negation_in_an_earlier_clause_of_a_spread_match_negates_that_clause_only():
    """An alias's words may spread over clauses of one sentence; a "never" in the first clause
    says nothing about the idea the last clause completes."""
    q = rubric(("test surface is shifted", ["test data shifted"], True), ("flat is robust", ["flat minimum robust"], True))
    grade = grade_reply(q, "a flat minimum is robust. test data never looks like the training data, so it is shifted")
    assert grade.contradicted == () and grade.verdict == "correct"
    assert grade_reply(q, "the test data is not shifted at all").contradicted == ("test surface is shifted",)


def test_adding_and_multiplying_are_opposite_claims():
    """"The cell state is updated by adding" reversed is "... by multiplying": a confident reply
    that swaps them contradicts the idea without a misconception written for it."""
    q = rubric(("additive cell state", ["cell state is updated by adding"], True), ("forget gate", ["forget gate"], True))
    assert grade_reply(q, "the cell state is updated by multiplying, via the forget gate").contradicted == ("additive cell state",)
    assert grade_reply(q, "the cell state is updated by adding, the forget gate scales it").verdict == "correct"


def test_words_every_rubric_uses_do_not_state_an_idea_in_part():
    """"Stated in part" weighs a phrasing's words by how specific they are: "network", "learns"
    and "data" are in many rubrics, "manifold" in one, so the three common words are not half of
    "the network learns the data manifold"; "learns the manifold of the data" is."""
    from content.grading import index_questions

    fillers = [Question(f"generic-{k}", "intermediate", ("dropout",), "q?", "a", (
        make_term(f"idea {k}", [f"network learns data {w}"], core=True),
        make_term(f"other {k}", [f"{w} matters"], core=True)))
        for k, w in enumerate(["edges", "patterns", "labels", "tokens", "pixels", "features"])]
    target = Question("idf-target", "intermediate", ("dropout",), "q?", "a", (
        make_term("corrupts the input", ["corrupts the input"], core=True),
        make_term("rebuilds the original", ["rebuilds the original"], core=True),
        make_term("learns the data manifold", ["network learns the data manifold"], core=True)))
    index_questions([*fillers, target])
    generic = grade_reply(target, "it corrupts the input and rebuilds the original, so the network learns from data")
    assert generic.core_partly == () and generic.verdict == "partial"
    specific = grade_reply(target, "it corrupts the input and rebuilds the original; it learns the manifold of the data")
    assert specific.core_partly == ("learns the data manifold",) and specific.verdict == "correct"


def test_a_core_idea_said_without_one_generic_inner_word_still_counts():
    """"reuse the features" states "reuse the learned features": the word left out is one many
    rubrics use. Leaving out a specific word ("pretrained"), or the first or last word (what
    the phrase is about), is not enough."""
    from content.grading import index_questions

    fillers = [Question(f"soft-{k}", "intermediate", ("dropout",), "q?", "a", (
        make_term(f"idea {k}", [f"{w} learned layers"], core=True), make_term(f"other {k}", [f"{w} matters"], core=True)))
        for k, w in enumerate(["edges", "patterns", "labels", "tokens", "pixels", "gates", "heads"])]
    target = Question("soft-target", "intermediate", ("dropout",), "q?", "a", (
        make_term("reuses learned features", ["reuse the learned features"], core=True),
        make_term("new head", ["train a new head"], core=True)))
    specific = Question("soft-specific", "intermediate", ("dropout",), "q?", "a", (
        make_term("reuses pretrained features", ["reuse the pretrained features"], core=True),
        make_term("new head", ["train a new head"], core=True)))
    index_questions([*fillers, target, specific])
    assert grade_reply(target, "reuse the features of a big net and train a new head").verdict == "correct"
    # (stated in part at most, see "stated in part")
    assert "reuses learned features" not in grade_reply(target, "the learned features, train a new head").core_found
    assert "reuses pretrained features" not in grade_reply(specific, "reuse the features and train a new head").core_found
