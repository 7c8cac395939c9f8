"""The smtp backend against a real SMTP server (aiosmtpd) with STARTTLS and AUTH: delivered end
to end; with the server stopped mid-run, messages wait, are retried with backoff and arrive once."""

import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
import time_machine
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import NotificationStatus, Role, SentNotification, User
from walkabout.notify.backends import SMTPBackend, get_backend
from walkabout.notify.dispatch import dispatch_due
from walkabout.scheduler import send_cycle
from walkabout.services import notification_kinds as kinds
from walkabout.services import walkabouts as programme
from walkabout.services.notifications import enqueue
from walkabout.services.walkabouts import WalkaboutDetails

from .mailcheck import invitation, to, use_identity

USER, PASSWORD = "walkabout-relay", "relay-secret-2026"
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@dataclass
class Mailbox:
    """What the server received, and how each message came in."""

    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "message": BytesParser(policy=policy.default).parsebytes(envelope.content),
                "tls": session.ssl is not None,
                "authenticated": session.authenticated,
                "to": envelope.rcpt_tos,
            }
        )
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    login, password = auth_data.login.decode(), auth_data.password.decode()
    return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)  # False: answer 535


class SMTPServer:
    """aiosmtpd on a free local port, STARTTLS required before AUTH, AUTH required before mail."""

    def __init__(self, tls_context, mailbox: Mailbox):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.tls_context, self.mailbox, self.controller = tls_context, mailbox, None

    def start(self) -> None:
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls_context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=check_login,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(autouse=True)
def no_real_smtp(monkeypatch):
    """Here SMTP connections are the point, but only to the test's own server on this machine."""
    import smtplib

    real = smtplib.SMTP

    def loopback_only(host="", *args, **kwargs):
        if host not in ("", "127.0.0.1"):
            raise AssertionError(f"a test tried to open an SMTP connection to {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(smtplib, "SMTP", loopback_only)


@pytest.fixture
def smtp_server(tmp_path):
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server = SMTPServer(context, Mailbox())
    server.start()
    server.ca_file = str(ca_file)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def smtp_settings(app, tmp_path, smtp_server):
    app.instance_path = str(tmp_path / "instance")
    use_identity(app)
    app.config.update(
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        SMTP_SECURITY="starttls",
        SMTP_USERNAME=USER,
        SMTP_PASSWORD=PASSWORD,
        SMTP_CA_FILE=smtp_server.ca_file,
    )


def test_an_invitation_is_delivered_over_starttls_with_auth(app, factory, smtp_server):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec", email="lead@riverside.nhs.uk")
    ward = factory.ward(factory.site("Riverside"), "Beech Ward")
    with time_machine.travel(NOW, tick=False):
        with app.app_context(), session_scope(app) as session:
            details = WalkaboutDetails(ward_id=ward.id, lead_id=lead.id, start=NOW + timedelta(days=10))
            programme.schedule_walkabout(session, session.get(User, lead.id), details)
        assert send_cycle(app)["sent"] == 1
    (received,) = smtp_server.mailbox.messages
    assert received["tls"] and received["authenticated"] and received["to"] == ["lead@riverside.nhs.uk"]
    method, calendar, _other = invitation(received["message"])  # as the relay passes it on
    assert method == "REQUEST" and to(received["message"]) == "Lead Exec"
    assert calendar.walk("VEVENT")[0].decoded("dtstart") == NOW + timedelta(days=10)


def test_a_wrong_password_or_an_untrusted_certificate_is_retried_not_lost(app, factory, smtp_server):
    owner = factory.user(Role.EXECUTIVE)
    queue(app, factory, [owner])
    app.config["SMTP_PASSWORD"] = "wrong"
    assert dispatch_due(app, get_backend(app), NOW).retried == 1
    assert "SMTPAuthenticationError" in rows(app)[0].last_error
    app.config.update(SMTP_PASSWORD=PASSWORD, SMTP_CA_FILE=None)  # the test CA is not trusted now
    assert dispatch_due(app, get_backend(app), NOW + timedelta(minutes=3)).retried == 1
    assert "CERTIFICATE_VERIFY_FAILED" in rows(app)[0].last_error
    assert smtp_server.mailbox.messages == []


def queue(app, factory, owners: list) -> None:
    lead = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), lead, start=NOW - timedelta(days=1))
    concern = factory.concern(walkabout)
    for owner in owners:
        action = factory.action(concern, owner, description=f"Action for {owner.name}")
        with session_scope(app) as session:
            enqueue(
                session,
                kind=kinds.NEW_ACTION,
                recipient_id=owner.id,
                due_at=NOW,
                dedupe_key=f"new_action:{action.id}:{owner.id}",
                subject_type="action",
                subject_id=action.id,
            )


def rows(app) -> list[SentNotification]:
    with session_scope(app) as session:
        return list(session.exec(select(SentNotification).order_by(SentNotification.id)).all())


class StopsTheServerAfterOneMessage(SMTPBackend):
    """The real smtp backend; the relay goes down right after it accepted the first message."""

    def __init__(self, server: SMTPServer, **settings):
        super().__init__(**settings)
        self.server, self.delivered = server, 0

    def send(self, message) -> None:
        super().send(message)
        self.delivered += 1
        if self.delivered == 1:
            self.server.stop()


def test_the_server_stopped_mid_run_messages_wait_and_arrive_once(app, factory, smtp_server):
    owners = [factory.user(Role.EXECUTIVE, name=f"Owner {n}") for n in range(3)]
    queue(app, factory, owners)
    settings = dict(
        host="127.0.0.1",
        port=smtp_server.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        timeout=5,
        ca_file=smtp_server.ca_file,
    )
    first = dispatch_due(app, StopsTheServerAfterOneMessage(smtp_server, **settings), NOW)
    assert (first.sent, first.retried) == (1, 2)
    waiting = [r for r in rows(app) if r.status == NotificationStatus.PENDING]
    assert len(waiting) == 2 and {r.attempts for r in waiting} == {1}
    assert {r.next_attempt_at for r in waiting} == {NOW + timedelta(minutes=2)}

    assert dispatch_due(app, get_backend(app), NOW + timedelta(minutes=1)).retried == 0  # backing off
    again = dispatch_due(app, get_backend(app), NOW + timedelta(minutes=2))  # still down
    assert again.retried == 2
    assert {r.next_attempt_at for r in rows(app) if r.status == NotificationStatus.PENDING} == {
        NOW + timedelta(minutes=6)  # 2 then 4 minutes
    }

    smtp_server.start()  # the relay is back
    assert dispatch_due(app, get_backend(app), NOW + timedelta(minutes=5)).sent == 0
    assert dispatch_due(app, get_backend(app), NOW + timedelta(minutes=6)).sent == 2
    assert dispatch_due(app, get_backend(app), NOW + timedelta(minutes=30)).sent == 0

    assert {r.status for r in rows(app)} == {NotificationStatus.SENT}
    received = smtp_server.mailbox.messages
    assert len(received) == 3  # nothing lost, nothing doubled
    assert len({m["message"]["Message-ID"] for m in received}) == 3
    assert sorted(m["message"]["To"].addresses[0].display_name for m in received) == [o.name for o in owners]
    assert all(m["tls"] and m["authenticated"] for m in received)
