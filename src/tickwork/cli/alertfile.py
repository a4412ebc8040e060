"""The ``alert_channels:`` and ``alert_rules:`` sections of an apply file: read and checked
locally, compared with the server, written by ``tickwork export``.

A channel's url and secret are secrets: in a file they should be ``{"$secret": NAME}``
references (resolved from the coordinator's environment when it delivers). The server never
returns a value, so a channel compares by what it shows: its type, addresses, the host of
its url (or the reference) and whether it has a secret. Apply never deletes channels or rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import pydantic

from tickwork.domain.alerts import ALERT_EVENTS, Channel, check_channel, check_rule
from tickwork.domain.errors import ValidationError
from tickwork.schemas.alerts import ChannelIn, ChannelOut, RuleIn, RuleOut

SECTIONS = ("alert_channels", "alert_rules")
Action = Literal["create", "update", "unchanged"]


class AlertFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class AlertSections:
    channels: tuple[ChannelIn, ...] = ()
    rules: tuple[RuleIn, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.channels or self.rules)


@dataclass(frozen=True, slots=True)
class AlertStep:
    action: Action
    kind: Literal["channel", "rule"]
    name: str
    body: dict[str, Any]


def read_sections(data: Any, source: str) -> AlertSections:
    """The alert sections of a loaded file, each entry checked (every problem listed)."""
    if not isinstance(data, dict):
        return AlertSections()
    problems: list[str] = []
    channels = [
        c
        for i, doc in enumerate(_section(data, "alert_channels", source, problems))
        if (c := _one(ChannelIn, doc, f"alert_channels[{i}]", problems)) is not None
    ]
    rules = [
        r
        for i, doc in enumerate(_section(data, "alert_rules", source, problems))
        if (r := _one(RuleIn, doc, f"alert_rules[{i}]", problems)) is not None
    ]
    for i, ch in enumerate(channels):
        _domain(lambda ch=ch: check_channel(_as_checked(ch)), f"alert_channels[{i}]", problems)
    for i, rule in enumerate(rules):
        _domain(
            lambda rule=rule: check_rule(rule.to_rule(None), rule.channels),
            f"alert_rules[{i}]",
            problems,
        )
    if problems:
        raise AlertFileError(problems)
    return AlertSections(tuple(channels), tuple(rules))


def _as_checked(ch: ChannelIn) -> Channel:
    """The channel as the server will check it; a hook channel's url left out (an export
    leaves a url that is a value out) stands for the one the server keeps — a create
    without one is refused by the server, naming it."""
    channel = ch.to_channel(None)
    if ch.type != "email" and "url" not in ch.model_fields_set:
        return replace(channel, url={"$secret": "KEPT_BY_THE_SERVER"})
    return channel


def _section(data: dict[str, Any], key: str, source: str, problems: list[str]) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        problems.append(f"{source}: {key}: expected a list")
        return []
    return value


def _one(model: Any, doc: Any, label: str, problems: list[str]) -> Any:
    if isinstance(doc, dict) and doc.get("name"):
        label = f"{label} ({doc['name']})"
    try:
        return model.model_validate(doc)
    except pydantic.ValidationError as exc:
        problems += [
            f"{label}: {'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}"
            for e in exc.errors()
        ]
        return None


def _domain(check: Any, label: str, problems: list[str]) -> None:
    try:
        check()
    except ValidationError as exc:
        problems.append(f"{label}: {exc.field}: {exc.reason}")


def _shown(ch: Channel) -> dict[str, Any]:
    out = ChannelOut.of(ch).model_dump(mode="json")
    return {k: out[k] for k in ("type", "url", "has_secret", "secret_ref", "to")}


def _rule_shown(rule: RuleOut | RuleIn) -> dict[str, Any]:
    return {
        "events": sorted(rule.events),
        "jobs": sorted(rule.jobs),
        "channels": sorted(rule.channels),
    }


def plan_alerts(
    sections: AlertSections, channels: list[ChannelOut], rules: list[RuleOut]
) -> list[AlertStep]:
    """Channels first (rules name them), then rules: create what is missing, update what
    differs, leave the rest."""
    steps: list[AlertStep] = []
    have = {c.name: c for c in channels}
    for ch in sections.channels:
        body = ch.model_dump(mode="json", exclude_unset=True)
        stored = have.get(ch.name)
        if stored is None:
            steps.append(AlertStep("create", "channel", ch.name, body))
            continue
        mine = _shown(ch.to_channel(stored.namespace))
        theirs = {k: v for k, v in stored.model_dump(mode="json").items() if k in mine}
        same = mine == theirs or ("url" not in body and {**mine, "url": theirs["url"]} == theirs)
        steps.append(AlertStep("unchanged" if same else "update", "channel", ch.name, body))
    ruled = {r.name: r for r in rules}
    for rule in sections.rules:
        body = rule.model_dump(mode="json", exclude_unset=True)
        old = ruled.get(rule.name)
        action: Action = (
            "create"
            if old is None
            else "unchanged"
            if _rule_shown(old) == _rule_shown(rule)
            else "update"
        )
        steps.append(AlertStep(action, "rule", rule.name, body))
    return steps


def channel_document(ch: ChannelOut) -> tuple[dict[str, Any], list[str]]:
    """A channel as an apply-file entry, and what had to be left out: a url or secret that
    is a value (never returned by the server) is omitted, a reference is kept."""
    doc: dict[str, Any] = {"name": ch.name, "type": ch.type}
    left_out: list[str] = []
    if isinstance(ch.url, dict):
        doc["url"] = ch.url
    elif ch.url is not None:
        left_out.append("url")
    if ch.secret_ref is not None:
        doc["secret"] = ch.secret_ref
    elif ch.has_secret:
        left_out.append("secret")
    if ch.to:
        doc["to"] = list(ch.to)
    return doc, left_out


def rule_document(rule: RuleOut) -> dict[str, Any]:
    return {
        "name": rule.name,
        "events": [e for e in ALERT_EVENTS if e in rule.events],
        "jobs": list(rule.jobs),
        "channels": list(rule.channels),
    }


__all__ = [
    "SECTIONS",
    "AlertFileError",
    "AlertSections",
    "AlertStep",
    "channel_document",
    "plan_alerts",
    "read_sections",
    "rule_document",
]
