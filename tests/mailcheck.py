"""Reading sent email and calendar files back as Outlook and Gmail would: with Python's email
package, icalendar, and vobject (a second, independent iCalendar parser)."""

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import vobject
from icalendar import Calendar

BASE_URL = "https://walkabout.riverside.nhs.uk"
MAIL_FROM = "Walkabout <walkabout@riverside.nhs.uk>"
DOMAIN = "walkabout.riverside.nhs.uk"


def use_identity(app) -> None:
    app.config.update(BASE_URL=BASE_URL, MAIL_FROM=MAIL_FROM)


def read_outbox(app) -> list[EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    return [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))
    ]


def to(message: EmailMessage) -> str:
    return message["To"].addresses[0].display_name


def parse_calendar(data: bytes | str) -> tuple[Calendar, "vobject.base.Component"]:
    """The file parsed by both parsers; each must accept it and agree on its events' UIDs."""
    text = data.decode() if isinstance(data, bytes) else data
    calendar = Calendar.from_ical(text)
    other = vobject.readOne(text)
    ours = sorted(str(event["uid"]) for event in calendar.walk("VEVENT"))
    theirs = sorted(event.uid.value for event in other.contents.get("vevent", []))
    assert ours == theirs, (ours, theirs)
    assert str(calendar["method"]) == other.method.value
    return calendar, other


def check_message(message: EmailMessage) -> None:
    """What every message must be: one MIME-Version (the root's), text and HTML alternatives,
    every text part quoted-printable UTF-8, links under WALKABOUT_BASE_URL, our Message-ID domain."""
    raw = message.as_bytes()
    assert raw.count(b"MIME-Version:") == 1
    assert message["Message-ID"].endswith(f"@{DOMAIN}>")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    for part in (plain, html):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
    text = plain.get_content()
    assert BASE_URL in text and "127.0.0.1" not in text and "localhost" not in text


def invitation(message: EmailMessage, domains=(DOMAIN,)) -> tuple[str, Calendar, "vobject.base.Component"]:
    """An iMIP invitation (RFC 6047): the calendar inline in multipart/alternative with a method
    matching its METHOD, and the same file attached. Returns (method, icalendar, vobject)."""
    check_message(message)
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in alternative.iter_parts()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    inline = list(alternative.iter_parts())[2]
    method = inline.get_param("method")
    assert f"Content-Type: text/calendar; method={method}; charset=UTF-8" in message.as_string()
    assert inline.get_content_disposition() == "inline"
    assert inline["Content-Transfer-Encoding"] == "quoted-printable"
    calendar, other = parse_calendar(inline.get_content())
    assert str(calendar["method"]) == method
    attached = [part for part in message.iter_attachments() if part.get_filename() == "invite.ics"]
    assert len(attached) == 1 and attached[0].get_content_type() == "application/ics"
    again, _ = parse_calendar(attached[0].get_content())
    assert again.to_ical() == calendar.to_ical()
    for event in calendar.walk("VEVENT"):
        assert str(event["uid"]).rpartition("@")[2] in domains
        organizer = event["organizer"]
        assert str(organizer) == "mailto:walkabout@riverside.nhs.uk" and "ROLE" not in organizer.params
    return method, calendar, other


def attendees(event) -> dict[str, dict]:
    people = event.get("attendee", [])
    people = people if isinstance(people, list) else [people]
    return {str(person).removeprefix("mailto:"): dict(person.params) for person in people}
