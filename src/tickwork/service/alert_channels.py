"""Sending one alert message through a channel: a signed JSON webhook, a Slack incoming
webhook, or an email over SMTP (aiosmtplib). URLs, signing secrets and the SMTP password are
secrets: an error names the channel and what went wrong, never them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from tickwork.config import Settings
from tickwork.domain.alerts import Channel, masked_url, run_link, summary_line
from tickwork.domain.secrets import SECRET_KEY, is_reference

SIGNATURE_HEADER = "X-Tickwork-Signature"
USER_AGENT = "tickwork-alerts"


class _HideAlertUrls(logging.Filter):
    """Drops httpx's request log lines (``HTTP Request: POST <url> …``, at INFO) of alert
    deliveries: a webhook's url is a secret, so it must not reach the log."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: Counter[str] = Counter()  # url → deliveries to it in flight

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(self.in_flight[str(a)] for a in args)


_HIDDEN = _HideAlertUrls()


def _hide_urls_from_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if _HIDDEN not in logger.filters:
        logger.addFilter(_HIDDEN)


class DeliveryError(Exception):
    """A delivery that did not go through; the message is safe to store and show."""


@dataclass(frozen=True, slots=True)
class Message:
    """What one delivery says: one alert, a digest, or a channel's test."""

    payload: Mapping[str, Any]
    link: str | None
    alert_id: int | None = None
    rule: str | None = None

    @property
    def summary(self) -> str:
        if self.payload.get("event") == "digest":
            count = self.payload.get("count", 0)
            return f"digest: {count} alerts of rule {self.rule} held back by its rate limit"
        return summary_line(self.payload)

    def document(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "event": self.payload.get("event"),
            "summary": self.summary,
            "link": self.link,
            "payload": dict(self.payload),
        }


def message_for(payload: Mapping[str, Any], *, public_url: str, **kw: Any) -> Message:
    return Message(payload, run_link(public_url, payload.get("run_id")), **kw)


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>`` (what a receiver recomputes to verify)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def resolve(value: str | Mapping[str, str] | None, what: str) -> str | None:
    """A secret's value: itself, or a ``{"$secret": NAME}`` reference to the coordinator's
    environment (DeliveryError when unset)."""
    if value is None or isinstance(value, str):
        return value
    if is_reference(value):
        name = value[SECRET_KEY]
        found = os.environ.get(name)
        if found is None:
            raise DeliveryError(
                f"{what}: secret '{name}' is not set in the coordinator's environment"
            )
        return found
    raise DeliveryError(f"{what}: not a string or a secret reference")


class Senders:
    """Delivers messages; one HTTP client for all webhook and Slack channels."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: httpx.AsyncClient | None = None
        _hide_urls_from_httpx_log()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.settings.alert_timeout,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, channel: Channel, message: Message) -> None:
        """Deliver, or raise DeliveryError saying why (without the channel's secrets)."""
        if channel.type == "email":
            await self._email(channel, message)
            return
        url = resolve(channel.url, "url")
        assert url is not None  # a hook channel always has a url (domain.check_channel)
        if channel.type == "slack":
            body = json.dumps(slack_payload(message)).encode()
            headers = {"Content-Type": "application/json"}
        else:
            body = json.dumps(message.document(), sort_keys=True).encode()
            headers = {"Content-Type": "application/json"}
            secret = resolve(channel.secret, "secret")
            if secret:
                headers[SIGNATURE_HEADER] = sign(secret, body)
        await self._post(url, body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        shown = str(masked_url(url))
        key = str(httpx.URL(url))
        _HIDDEN.in_flight[key] += 1
        try:
            response = await self._client().post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            reason = str(exc).replace(url, shown).replace(key, shown) or type(exc).__name__
            raise DeliveryError(f"{type(exc).__name__}: {reason}"[:300]) from None
        finally:
            _HIDDEN.in_flight[key] -= 1
            if not _HIDDEN.in_flight[key]:
                del _HIDDEN.in_flight[key]
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code} from {shown}")

    async def _email(self, channel: Channel, message: Message) -> None:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryError("email: TICKWORK_SMTP_HOST is not set")
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = ", ".join(channel.to)
        mail["Subject"] = f"[tickwork] {message.summary}"[:200]
        mail.set_content(email_text(message))
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=password,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = str(exc)
            if password:
                reason = reason.replace(password, "***")
            raise DeliveryError(f"SMTP {type(exc).__name__}: {reason}"[:300]) from None


def slack_payload(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` (notifications) and blocks."""
    text = message.summary
    if message.link:
        text = f"{text} <{message.link}|open run>"
    fields = [
        {"type": "mrkdwn", "text": f"*{k}*\n{v}"}
        for k, v in message.payload.items()
        if k in ("job", "namespace", "attempt", "error_summary", "reason", "worker")
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{message.summary}*"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    if message.link:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{message.link}>"}]}
        )
    return {"text": text, "blocks": blocks}


def email_text(message: Message) -> str:
    lines = [message.summary, ""]
    if message.link:
        lines += [f"Run: {message.link}", ""]
    lines += [f"{k}: {v}" for k, v in message.payload.items() if k != "alerts"]
    for item in message.payload.get("alerts", ()):
        lines.append(f"  - {item.get('summary')}")
    return "\n".join(lines) + "\n"
