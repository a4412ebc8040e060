"""Secret references: resolved only for the names a worker allows, never tickwork's own
variables."""

from __future__ import annotations

import pytest

from tickwork.domain.secrets import (
    MissingSecret,
    SecretNotAllowed,
    invalid_reference,
    references,
    resolve,
)

ALLOW_ALL = frozenset({"DB_PASS", "TOKEN", "NOPE", "A"})


def test_resolve_nested_references_and_collect_values() -> None:
    params = {"db": {"password": {"$secret": "DB_PASS"}}, "list": [{"$secret": "TOKEN"}, 1]}
    resolved, values = resolve(
        params, {"DB_PASS": "hunter22", "TOKEN": "abc123"}, allowed=ALLOW_ALL
    )
    assert resolved == {"db": {"password": "hunter22"}, "list": ["abc123", 1]}
    assert sorted(values) == ["abc123", "hunter22"]
    assert references(params) == ["DB_PASS", "TOKEN"]


def test_missing_secret_names_it() -> None:
    with pytest.raises(MissingSecret, match="'NOPE'"):
        resolve({"x": {"$secret": "NOPE"}}, {}, allowed=ALLOW_ALL)


def test_not_a_reference_when_other_keys_present() -> None:
    value = {"$secret": "A", "other": 1}
    assert resolve(value, {}, allowed=ALLOW_ALL)[0] == value


@pytest.mark.parametrize("is_set", [True, False])
def test_a_name_off_the_allow_list_is_refused_and_says_how_to_allow_it(is_set: bool) -> None:
    env = {"HOME_SECRET": "value-of-home"} if is_set else {}
    with pytest.raises(SecretNotAllowed) as refused:
        resolve({"x": {"$secret": "HOME_SECRET"}}, env, allowed=frozenset({"DB_PASS"}))
    message = str(refused.value)
    assert refused.value.name == "HOME_SECRET"
    assert "'HOME_SECRET'" in message
    assert "TICKWORK_SECRETS" in message and "--secret HOME_SECRET" in message
    assert "value-of-home" not in message
    # the same answer whether or not the variable is set: no oracle for the environment
    assert "not set" not in message


@pytest.mark.parametrize("name", ["TICKWORK_TOKEN", "TICKWORK_DATABASE_URL", "tickwork_token"])
def test_tickworks_own_variables_never_resolve_even_when_listed(name: str) -> None:
    env = {name: "tw_worker_token_value"}
    with pytest.raises(SecretNotAllowed) as refused:
        resolve({"pw": {"$secret": name}}, env, allowed=frozenset({name}))
    assert f"'{name}'" in str(refused.value)
    assert "tickwork's own" in str(refused.value)
    assert "tw_worker_token_value" not in str(refused.value)


def test_invalid_names_are_reported() -> None:
    assert invalid_reference({"a": {"$secret": "bad name"}}) == "bad name"
    assert invalid_reference({"a": {"$secret": "GOOD_1"}}) is None
