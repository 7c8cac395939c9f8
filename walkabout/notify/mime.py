"""The MIME shape of every message Walkabout sends.

multipart/alternative with the text and the HTML, each UTF-8 quoted-printable
and without a MIME-Version of its own. An invitation (iMIP, RFC 6047) adds its
calendar as a third alternative, `text/calendar; method=REQUEST|CANCEL;
charset=UTF-8`, inline, and the same file as an attachment for clients that
need one; files go beside the alternatives in multipart/mixed, base64.
"""

from email import policy
from email.message import EmailMessage, MIMEPart


def add_body(
    message: EmailMessage,
    text: str,
    html: str,
    attachments: list[tuple[str, str, bytes]],
    calendar: tuple[str, bytes] | None,
    calendar_name: str,
) -> None:
    """Give `message` its parts: text and HTML alternatives, the calendar (inline for iMIP, and
    attached), then the files."""
    alternative = MIMEPart(policy=policy.default)
    alternative.make_alternative()
    alternative.attach(_text(text, "plain"))
    alternative.attach(_text(html, "html"))
    files = list(attachments)
    if calendar is not None:
        method, ics = calendar
        if method == "PUBLISH":  # many UIDs (a rota): a file to add, not an iMIP invitation
            files.insert(0, (calendar_name, "text/calendar; method=PUBLISH", ics))
        else:
            alternative.attach(_text(ics.decode(), "calendar", method=method, disposition="inline"))
            # The same file for clients that only look at attachments; application/ics, as Gmail
            # sends it, so no client takes it for a second invitation.
            files.insert(0, (calendar_name, "application/ics", ics))
    if not files:
        message.make_alternative()
        for part in alternative.iter_parts():
            message.attach(part)
        return
    message.make_mixed()
    message.attach(alternative)
    for filename, mimetype, data in files:
        message.attach(_file(filename, mimetype, data))


def _text(content: str, subtype: str, method: str | None = None, disposition: str | None = None) -> MIMEPart:
    """A UTF-8 text part, quoted-printable like every text part we send (no MIME-Version of its own)."""
    part = MIMEPart(policy=policy.default)
    part.set_content(
        content, subtype=subtype, charset="UTF-8", cte="quoted-printable", disposition=disposition
    )
    if method:
        _plain_header(part, f"text/{subtype}; method={method}; charset=UTF-8")
    return part


def _plain_header(part: MIMEPart, content_type: str) -> None:
    """Content-Type written as given (`method=REQUEST`, as in RFC 6047's examples), not re-rendered
    with quoted parameters by the email package: some calendar clients read only the plain form."""
    part._headers = [  # a plain string header is written verbatim by the generator
        ("Content-Type", content_type) if name.lower() == "content-type" else (name, value)
        for name, value in part._headers
    ]


def _file(filename: str, mimetype: str, data: bytes) -> MIMEPart:
    """An attachment, base64 (a calendar file keeps its CRLF line ends exactly)."""
    kind, _, params = mimetype.partition(";")
    maintype, subtype = kind.strip().split("/")
    part = MIMEPart(policy=policy.default)
    part.set_content(data, maintype=maintype, subtype=subtype, filename=filename)
    if maintype == "text":
        _plain_header(part, f"{maintype}/{subtype};{params}; charset=UTF-8; name={filename}")
    return part
