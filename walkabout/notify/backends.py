"""Where email goes: SMTP in production, `.eml` files in instance/outbox/ otherwise."""

import hashlib
import os
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from uuid import uuid4

from flask import Flask


class SendError(Exception):
    """The message could not be handed over; it will be retried."""


class OutboxBackend:
    """Writes each message as a real .eml file, so people see what would be sent."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        """Write the message once: a resend of the same Message-ID (the scheduler was killed after
        writing it but before recording it as sent) finds the first file and writes nothing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        message_id = message["Message-ID"]
        tag = hashlib.sha256(message_id.encode()).hexdigest()[:16] if message_id else uuid4().hex[:16]
        if message_id and any(self.directory.glob(f"*-{tag}.eml")):
            return
        path = self.directory / f"{stamp}-{tag}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(bytes(message))
        os.replace(partial, path)  # a crash never leaves half a message in the outbox

    def list(self, limit: int = 200) -> list[dict]:
        """The newest messages first: file name, date, to, subject."""
        if not self.directory.is_dir():
            return []
        files = sorted(self.directory.glob("*.eml"), reverse=True)[:limit]
        parser = BytesHeaderParser()
        items = []
        for path in files:
            with path.open("rb") as handle:
                headers = parser.parse(handle)
            items.append(
                {
                    "name": path.name,
                    "to": headers["To"],
                    "subject": headers["Subject"],
                    "date": parsedate_to_datetime(headers["Date"]) if headers["Date"] else None,
                }
            )
        return items

    def read(self, name: str) -> bytes | None:
        path = self.directory / name
        if path.parent != self.directory or path.suffix != ".eml" or not path.is_file():
            return None
        return path.read_bytes()


class SMTPBackend:
    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        username: str | None,
        password: str | None,
        timeout: float = 20,
        ca_file: str | None = None,
    ):
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ca_file = ca_file

    def send(self, message: EmailMessage) -> None:
        try:
            # The server's certificate is always verified: against the system's CAs, or the
            # trust's own CA (SMTP_CA_FILE) for an internal relay.
            context = ssl.create_default_context(cafile=self.ca_file or None)
            if self.security == "ssl":
                server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with server:
                if self.security == "starttls":
                    server.starttls(context=context)
                if self.username:
                    server.login(self.username, self.password or "")
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"{type(error).__name__}: {error}") from error


def get_backend(app: Flask):
    """The configured backend: MAIL_BACKEND is "outbox" (default) or "smtp"."""
    config = app.config
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPBackend(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_SECURITY"],
            config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"],
            ca_file=config.get("SMTP_CA_FILE"),
        )
    return OutboxBackend(Path(app.instance_path) / "outbox")
