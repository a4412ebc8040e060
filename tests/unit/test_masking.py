"""Masking secret values: encoded forms, overlaps, JSON values (keys too), and streams cut
anywhere — what a stream shows equals masking the whole text at once."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickwork.domain.masking import MASK, Mask, encoded_forms, redact


def test_redact_masks_longest_first() -> None:
    assert redact("pw=hunter22 and hunter2", ["hunter2", "hunter22"]) == "pw=*** and ***"
    assert redact("ab", ["ab"]) == "ab"  # too short to mask safely


# -- encoded forms -----------------------------------------------------------------------

AWKWARD = "q\"uo\\te-é-雪-'-&= /x"


@pytest.mark.parametrize(
    "shown",
    [
        AWKWARD,
        json.dumps(AWKWARD)[1:-1],  # TICKWORK_PARAMETERS, json.dumps defaults
        json.dumps(AWKWARD, ensure_ascii=False)[1:-1],
        r"""q\"uo\te-\u00e9-\u96ea-'-&= /x""",  # echo "$TICKWORK_PARAMETERS" in dash
        r"""q\"uo\te-é-雪-'-&= /x""",
        repr(AWKWARD)[1:-1],  # a dict in a traceback, print(params)
        repr(AWKWARD.encode())[2:-1],  # print(response.content)
        quote(AWKWARD, safe=""),
        quote_plus(AWKWARD),
    ],
    ids=[
        *("raw", "json-ascii", "json-unicode", "echo-ascii", "echo-unicode"),
        *("repr", "bytes-repr", "url", "url-plus"),
    ],
)
def test_every_encoded_form_a_job_plausibly_prints_is_masked(shown: str) -> None:
    assert shown in encoded_forms(AWKWARD)
    line = f"params: {{'pw': {shown}}}\n"
    assert Mask.of([AWKWARD]).text(line) == f"params: {{'pw': {MASK}}}\n"


def test_echo_of_tickwork_parameters_is_masked() -> None:
    printed = json.dumps({"pw": AWKWARD, "n": 1}) + "\n"  # what `echo "$TICKWORK_PARAMETERS"` shows
    assert Mask.of([AWKWARD]).text(printed) == '{"pw": "***", "n": 1}\n'


def test_a_value_shorter_than_three_characters_is_not_masked() -> None:
    assert encoded_forms("ab") == frozenset()
    assert Mask.of(["ab", ""]).text("ab cd") == "ab cd"
    assert not Mask.of(["ab"])
    assert Mask.of(["abc"])


def test_overlapping_secrets_leave_no_piece_of_either_visible() -> None:
    mask = Mask.of(["abcd", "cdef"])
    assert mask.text("xxabcdefyy") == "xx***yy"
    assert mask.text("abcd cdef abcdabcd") == "*** *** ******"
    # one secret inside another, and a secret repeated over itself
    assert Mask.of(["s3cret", "cre"]).text("a s3cret, a cre") == "a ***, a ***"
    assert Mask.of(["aaa"]).text("baaaaab") == "b***b"


# -- structures: keys as well as values ----------------------------------------------------


def test_a_result_is_masked_in_keys_values_lists_and_numbers() -> None:
    mask = Mask.of(["hunter22", "12345"])
    result = {
        "hunter22": 1,
        "nested": {"user:hunter22": ["ok", "pw=hunter22"]},
        "pin": 12345,
        "flag": True,
        "none": None,
        "ratio": 0.5,
    }
    assert mask.value(result) == {
        MASK: 1,
        "nested": {f"user:{MASK}": ["ok", f"pw={MASK}"]},
        "pin": MASK,
        "flag": True,
        "none": None,
        "ratio": 0.5,
    }
    assert Mask.of([]).value(result) is result


# -- streaming --------------------------------------------------------------------------

SECRET = "hunter22-pä雪"
TEXT = f"start {SECRET} middle {json.dumps(SECRET)[1:-1]} h hun end {SECRET}"


def streamed(mask: Mask, chunks: list[str]) -> tuple[str, list[str]]:
    stream = mask.stream()
    pieces = [stream.feed(chunk) for chunk in chunks]
    pieces.append(stream.flush())
    return "".join(pieces), pieces


@pytest.mark.parametrize("at", range(len(TEXT) + 1))
def test_a_secret_split_at_any_position_is_masked(at: int) -> None:
    mask = Mask.of([SECRET])
    whole, pieces = streamed(mask, [TEXT[:at], TEXT[at:]])
    assert whole == mask.text(TEXT)
    assert SECRET not in whole
    assert not [p for p in pieces if "hunter" in p]  # not even half of it, in any piece


def test_a_secret_written_one_character_at_a_time_is_masked() -> None:
    mask = Mask.of([SECRET, "22-pä雪-other"])
    text = f"a {SECRET}-other b {SECRET} c"
    whole, pieces = streamed(mask, list(text))
    assert whole == mask.text(text) == "a *** b *** c"
    assert not [p for p in pieces if "雪" in p or "hunter" in p]


def test_three_way_splits_of_overlapping_secrets() -> None:
    mask = Mask.of(["abcd", "cdef", "defg"])
    text = "xabcdefgy abcd"
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            whole, _ = streamed(mask, [text[:i], text[i:j], text[j:]])
            assert whole == "x***y ***", (i, j)


def test_a_mask_that_continues_into_a_held_tail_is_not_lost() -> None:
    # "abc" is shown as *** while "bc" is held (it may begin "bcdefg"); then "bcd" is held
    # whole: the part of it already covered by that *** must stay covered.
    whole, _ = streamed(Mask.of(["abc", "bcdefg"]), ["xab", "c", "d", "efg", "!"])
    assert whole == "x***!"


def test_only_a_possible_start_of_a_secret_is_held_back() -> None:
    stream = Mask.of(["hunter22"]).stream()
    assert stream.feed("hello hun") == "hello "  # "hun" may be the start of the secret
    assert stream.feed("gry\nh") == "hungry\n"
    assert stream.feed("unter22 ok") == "*** ok"
    assert stream.feed("\n") == "\n"
    assert stream.flush() == ""
    held = Mask.of(["hunter22"]).stream()
    assert held.feed("to hunt") == "to "
    assert held.flush() == "hunt"  # end of the run: what was held goes out


def test_a_stream_with_nothing_to_mask_passes_text_through() -> None:
    stream = Mask.of([]).stream()
    assert stream.feed("anything hun") == "anything hun"
    assert stream.flush() == ""


@given(
    st.text(alphabet="ab雪xé", max_size=40),
    st.lists(st.integers(min_value=0, max_value=40), max_size=6),
)
def test_streaming_equals_masking_the_whole_text(text: str, cuts: list[int]) -> None:
    mask = Mask.of(["abab", "ba雪", "aaa", "xéx"])
    bounds = [0, *sorted(min(c, len(text)) for c in cuts), len(text)]
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    whole, _ = streamed(mask, chunks)
    assert whole == mask.text(text)
