"""Delivery of alert messages by e-mail (SMTP, STARTTLS, login) and by a Slack-compatible webhook.

Only the standard library: an alert must still go out when the warehouse's heavier dependencies are what broke.
A delivery error is returned, never raised, with every secret of the configuration masked in its text, so that the
caller can log it and carry on: the log line of each alert is already written before anything is sent.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.request
from email.message import EmailMessage

from .config import AlertConfig

MASK = "***"


def send_emails(config: AlertConfig, messages: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Send recipient -> (subject, body) over one SMTP session; return (recipients reached, errors)."""
    if not config.smtp_host or not messages:
        return [], []
    sent, errors = [], []
    try:
        with _smtp_session(config) as smtp:
            for recipient, (subject, body) in messages.items():
                try:
                    smtp.send_message(_email(config.smtp_from, recipient, subject, body))
                    sent.append(recipient)
                except smtplib.SMTPException as exc:
                    errors.append(redact(f"e-mail to {recipient} refused: {exc}", config))
    except (OSError, smtplib.SMTPException) as exc:
        errors.append(redact(f"SMTP {config.smtp_host}:{config.smtp_port} failed: {type(exc).__name__}: {exc}", config))
    return sent, errors


def _smtp_session(config: AlertConfig) -> smtplib.SMTP:
    """A connected SMTP session: STARTTLS with certificate and host name checked, then the login if one is set."""
    smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_s)
    try:
        smtp.ehlo()
        if config.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=config.smtp_ca_file))
            smtp.ehlo()
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _email(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, subject
    message.set_content(body)
    return message


def post_webhook(config: AlertConfig, text: str) -> str | None:
    """Post `{"text": ...}` to the webhook when one is configured; return the error, or None when it was taken."""
    if not config.webhook_url:
        return None
    request = urllib.request.Request(
        config.webhook_url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s) as response:
            response.read()
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors; a malformed URL is a ValueError
        return redact(f"webhook failed: {type(exc).__name__}: {exc}", config)
    return None


def redact(text: str, config: AlertConfig) -> str:
    """The text with the password and the webhook URL masked (server replies may echo what they were sent)."""
    for secret in sorted(config.secrets(), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
