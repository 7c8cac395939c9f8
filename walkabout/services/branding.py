"""The trust's own settings: its name and logo (header, PDFs, emails) and the words of the
risk matrix's likelihood and consequence levels (NHS 5x5 defaults, editable).

The logo is decoded and re-encoded with Pillow (PNG stays PNG, JPEG stays JPEG), so what
is served is only pixels: no SVG, no script, no metadata.
"""

import base64
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, select

from .. import rules
from ..db_types import utcnow
from ..defaults import RISK_AXES
from ..models import RiskLabel, TrustBranding, User
from . import ServiceError, audit, check_version, flush_or_conflict

STALE_SETTINGS = (
    "Someone changed the trust settings while you were editing them. The form now shows the latest."
)
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class LogoRejected(ServiceError):
    """The upload is not a usable logo; the message says why."""


@dataclass(frozen=True)
class Brand:
    """What pages, PDFs and emails show: the name, and whether there is a logo."""

    name: str
    has_logo: bool
    logo_version: int

    @property
    def logo_query(self) -> dict:
        return {"v": self.logo_version}


def branding_row(session: Session) -> TrustBranding:
    row = session.get(TrustBranding, 1)
    if row is None:  # a database made before the defaults were seeded
        row = TrustBranding(id=1)
        session.add(row)
        session.flush()
    return row


def brand(session: Session, default_name: str) -> Brand:
    """The trust's name (or `default_name`, WALKABOUT_TRUST_NAME) and logo flag, in one small query."""
    row = session.exec(
        select(TrustBranding.name, TrustBranding.logo_type, TrustBranding.version).where(
            TrustBranding.id == 1
        )
    ).first()
    return from_row(row, default_name)


def from_row(row: tuple | None, default_name: str) -> Brand:
    """The Brand of a (name, logo type, version) row of trust_branding (None: no row yet)."""
    if row is None:
        return Brand(default_name, False, 0)
    name, logo_type, version = row
    return Brand(name or default_name, logo_type is not None, version)


def logo(session: Session) -> tuple[bytes, str] | None:
    """(image bytes, content type) of the trust's logo, or None."""
    row = session.exec(
        select(TrustBranding.logo, TrustBranding.logo_type).where(TrustBranding.id == 1)
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def logo_data_uri(session: Session) -> str | None:
    """The logo as a data: address, for PDFs (WeasyPrint fetches nothing else)."""
    found = logo(session)
    if found is None:
        return None
    data, content_type = found
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def save_name(session: Session, actor: User, name: str | None, version: int | None) -> TrustBranding:
    row = branding_row(session)
    check_version(row, version, STALE_SETTINGS)
    name = (name or "").strip() or None
    if problem := rules.TRUST_NAME.problem(name or "", required=False):
        raise ServiceError(problem)
    changes = audit.diff(row, {"name": name})
    if changes:
        row.updated_at = utcnow()
        flush_or_conflict(session, STALE_SETTINGS)
        audit.record(session, actor, row, "renamed", changes)
    return row


def save_logo(session: Session, actor: User, raw: bytes | None, version: int | None) -> TrustBranding:
    row = branding_row(session)
    check_version(row, version, STALE_SETTINGS)
    data, content_type, width, height = process_logo(raw)
    row.logo, row.logo_type, row.logo_width, row.logo_height = data, content_type, width, height
    row.updated_at = utcnow()
    flush_or_conflict(session, STALE_SETTINGS)
    audit.record(
        session,
        actor,
        row,
        "logo_uploaded",
        {"type": content_type, "width": width, "height": height, "bytes": len(data)},
    )
    return row


def remove_logo(session: Session, actor: User, version: int | None) -> TrustBranding:
    row = branding_row(session)
    check_version(row, version, STALE_SETTINGS)
    if row.logo is None:
        return row
    row.logo = row.logo_type = row.logo_width = row.logo_height = None
    row.updated_at = utcnow()
    flush_or_conflict(session, STALE_SETTINGS)
    audit.record(session, actor, row, "logo_removed")
    return row


def process_logo(raw: bytes | None) -> tuple[bytes, str, int, int]:
    """Check and re-encode an uploaded logo: (bytes, content type, width, height), or LogoRejected."""
    if not raw:
        raise LogoRejected("Choose a logo file (PNG or JPEG).")
    if len(raw) > rules.MAX_LOGO_BYTES:
        raise LogoRejected(f"The logo file is larger than {rules.LOGO_LIMIT_LABEL}. Use a smaller file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            if probe.format not in LOGO_FORMATS:
                raise LogoRejected(
                    "The logo must be a PNG or JPEG image (SVG and other files are not accepted)."
                )
            if probe.width * probe.height > rules.MAX_LOGO_PIXELS:
                raise LogoRejected(
                    f"The logo is {probe.width} x {probe.height} pixels: too large. "
                    f"Use one of at most {rules.MAX_LOGO_PIXELS // 1_000_000} megapixels."
                )
            probe.verify()
            image = Image.open(io.BytesIO(raw))
            image.load()
    except LogoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LogoRejected("That file is not an image we can read: use a PNG or JPEG logo.") from None
    except (OSError, SyntaxError, ValueError):
        raise LogoRejected("That logo file is damaged or incomplete.") from None
    fmt = image.format
    image.thumbnail((rules.LOGO_MAX_SIDE, rules.LOGO_MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        image.info.clear()
        image.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.info.clear()
        image.save(out, "JPEG", quality=90, optimize=True, exif=b"", comment=b"", icc_profile=None)
    return out.getvalue(), LOGO_FORMATS[fmt], image.width, image.height


def risk_labels(session: Session) -> dict[str, dict[int, str]]:
    """{"likelihood": {1: "Rare", ...}, "consequence": {...}}: saved words over the defaults."""
    labels = {axis: dict(defaults) for axis, defaults in RISK_AXES.items()}
    for row in session.exec(select(RiskLabel)).all():
        if row.axis in labels and row.level in labels[row.axis]:
            labels[row.axis][row.level] = row.label
    return labels


def save_risk_labels(
    session: Session, actor: User, values: dict[str, dict[int, str]], version: int | None
) -> None:
    """Save the ten words (every one required, distinct within its axis)."""
    branding = branding_row(session)
    check_version(branding, version, STALE_SETTINGS)
    current = {(row.axis, row.level): row for row in session.exec(select(RiskLabel)).all()}
    changes = {}
    for axis, defaults in RISK_AXES.items():
        given = values.get(axis, {})
        words = [(given.get(level) or "").strip() for level in defaults]
        for level, word in zip(defaults, words, strict=True):
            if problem := rules.RISK_LABEL.problem(word):
                raise ServiceError(f"{axis.capitalize()} {level}: {problem}")
        if len({w.casefold() for w in words}) != len(words):
            raise ServiceError(f"Give each {axis} level a different word.")
        for level, word in zip(defaults, words, strict=True):
            row = current.get((axis, level))
            old = row.label if row else defaults[level]
            if old == word:
                continue
            if row is None:
                session.add(RiskLabel(axis=axis, level=level, label=word))
            else:
                row.label = word
            changes[f"{axis} {level}"] = [old, word]
    if changes:
        branding.updated_at = utcnow()  # bumps the version: a second admin's stale form is refused
        flush_or_conflict(session, STALE_SETTINGS)
        audit.record(session, actor, branding, "risk_labels_changed", changes)
