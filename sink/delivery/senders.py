"""The two ways out: a signed webhook POST (httpx) and a mail over SMTP (smtplib).

Each sender makes one attempt and says how it went (:class:`Attempt`); retrying is the
service's business. A webhook carries ``Idempotency-Key`` (stable over retries and restarts) and,
when the subscription has a secret, ``X-Civicpulse-Signature: sha256=<hex HMAC-SHA256 of the
exact body bytes>``, so a receiver checks the body it got before parsing it.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from civicpulse.schemas.settings import Settings
from civicpulse.sink.delivery.backoff import is_permanent
from civicpulse.sink.delivery.matching import Delivery

__all__ = [
    "SIGNATURE_HEADER",
    "Attempt",
    "SmtpConfig",
    "post_webhook",
    "send_mail",
    "signature",
    "verify_signature",
    "webhook_headers",
]

SIGNATURE_HEADER = "X-Civicpulse-Signature"


@dataclass(frozen=True)
class Attempt:
    """How one try went: delivered, or why not and whether another try could help."""

    delivered: bool
    reason: str = ""
    permanent: bool = False


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256(body, secret)>``: the signature header's value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does (constant-time compare); the tests' servers use it."""
    return hmac.compare_digest(signature(body, secret), header)


def webhook_headers(delivery: Delivery, body: bytes, attempt: int) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": delivery.key,
        "X-Civicpulse-Event": delivery.key.rpartition(":")[2],
        "X-Civicpulse-Attempt": str(attempt),
        "User-Agent": "civicpulse-delivery",
    }
    secret = delivery.subscription.secret
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    return headers


async def post_webhook(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> Attempt:
    """POST once; 2xx is delivered, a 4xx but 408/425/429 is a permanent refusal."""
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Attempt(False, f"{type(exc).__name__}: {exc or 'no answer'}")
    if 200 <= response.status_code < 300:
        return Attempt(True)
    reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return Attempt(False, reason, permanent=is_permanent(response.status_code))


@dataclass(frozen=True)
class SmtpConfig:
    """Where alert mail goes, from the settings (``CIVICPULSE_SMTP_*``)."""

    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str
    ca_file: str | None
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        if settings.smtp_host is None:
            return None
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            user=settings.smtp_user,
            password=None if password is None else password.get_secret_value(),
            sender=settings.smtp_from,
            ca_file=None if settings.smtp_ca_file is None else str(settings.smtp_ca_file),
            timeout=settings.delivery_timeout,
        )


def send_mail(config: SmtpConfig, mail: EmailMessage) -> Attempt:
    """One SMTP session (blocking: the service runs it in a thread): STARTTLS and login when
    configured, then the mail to every recipient of its ``To``."""
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=config.ca_file))
            if config.user is not None:
                smtp.login(config.user, config.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        return Attempt(False, f"every recipient refused: {exc.recipients}", permanent=True)
    except smtplib.SMTPAuthenticationError as exc:
        return Attempt(False, f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}")
    except smtplib.SMTPResponseException as exc:
        # 5xx is the server's final word on this mail; 4xx means "try later".
        return Attempt(
            False, f"SMTP {exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
        )
    except (smtplib.SMTPException, OSError) as exc:
        return Attempt(False, f"SMTP {type(exc).__name__}: {exc}")
    return Attempt(True)
