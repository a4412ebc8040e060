"""Secret references: resolved only for the names a worker allows, never tickwork's own
variables; trigger-time parameters may not introduce one."""

from __future__ import annotations

import pytest

from tickwork.domain.errors import ValidationError
from tickwork.domain.jobs import HttpRequest, JobSpec, check_trigger_parameters
from tickwork.domain.secrets import (
    MissingSecret,
    SecretNotAllowed,
    invalid_reference,
    references,
    refuse_new_references,
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


# -- trigger-time parameters ---------------------------------------------------------------


def test_trigger_parameters_may_reuse_the_jobs_references() -> None:
    defined = {"password": {"$secret": "DB_PASS"}, "plain": 1}
    refuse_new_references(
        {"password": {"$secret": "DB_PASS"}, "other": [{"$secret": "DB_PASS"}]},
        defined=[defined, {"headers": {}}],
        field="parameters",
    )
    refuse_new_references({"n": 2}, defined=[{}], field="parameters")


@pytest.mark.parametrize(
    ("given", "where", "name"),
    [
        ({"pw": {"$secret": "TICKWORK_TOKEN"}}, "parameters.pw", "TICKWORK_TOKEN"),
        ({"a": {"b": [1, {"$secret": "HOME"}]}}, "parameters.a.b.1", "HOME"),
        ({"pw": {"$secret": "bad name"}}, "parameters.pw", "bad name"),
    ],
)
def test_trigger_parameters_may_not_introduce_a_secret(
    given: dict[str, object], where: str, name: str
) -> None:
    defined = [{"password": {"$secret": "DB_PASS"}}, {"headers": {"X": {"$secret": "API_KEY"}}}]
    with pytest.raises(ValidationError) as refused:
        refuse_new_references(given, defined=defined, field="parameters")
    assert refused.value.field == where
    assert f"'{name}'" in refused.value.reason
    assert "job's definition" in refused.value.reason


def test_a_jobs_request_counts_as_its_definition() -> None:
    spec = JobSpec(
        name="call",
        type="http",
        request=HttpRequest(
            url="https://example.test/hook", headers={"Authorization": {"$secret": "API_KEY"}}
        ),
        parameters={"n": 1},
    )
    check_trigger_parameters(spec, {"key": {"$secret": "API_KEY"}}, field="parameters")
    with pytest.raises(ValidationError) as refused:
        check_trigger_parameters(spec, {"key": {"$secret": "DB_PASS"}}, field="runs.4.parameters")
    assert refused.value.field == "runs.4.parameters.key"
