"""Admin forms: a change to one of the lists, the trust's name, logo and risk-matrix words,
and the audit log's filters (read from the query string)."""

from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField

from ..defaults import RISK_AXES
from ..services.audit_log import AuditFilters
from ..urls import ascii_int
from .single_line import CONTROL_CHARACTERS, SingleLine
from .version import VersionField

LINE_BREAKS = "\r\n\u2028\u2029"


class ListChangeForm(FlaskForm):
    """Add, rename, move, retire or restore an entry. `seen` is the list's fingerprint as shown."""

    list = HiddenField()
    entry = HiddenField()
    text = TextAreaField("Words")
    direction = HiddenField()
    active = HiddenField()
    seen = HiddenField()

    @property
    def entry_id(self) -> int | None:
        return ascii_int(self.entry.data or "")

    def text_problem(self, paragraph: bool) -> str | None:
        """Control characters are refused; a paragraph (script words) may hold line breaks."""
        text = self.text.data or ""
        if paragraph:
            text = "".join(" " if char in LINE_BREAKS else char for char in text)
        if CONTROL_CHARACTERS.search(text):
            where = "" if paragraph else "on one line: no line breaks, "
            return f"Keep the words {where}{'no ' if paragraph else ''}tabs or other control characters."
        return None


class TrustNameForm(FlaskForm):
    name = StringField(
        "Trust name",
        validators=[SingleLine()],
        description="Shown in the header, on PDFs and in emails. Empty: the installation's default.",
    )
    version = VersionField()


class LogoForm(FlaskForm):
    logo = FileField("Logo")
    version = VersionField()


class RemoveLogoForm(FlaskForm):
    version = VersionField()


class RiskLabelsForm(FlaskForm):
    """Ten fields, likelihood_1..5 and consequence_1..5 (added below), and the settings version."""

    version = VersionField()

    def labels(self) -> dict[str, dict[int, str]]:
        return {
            axis: {level: getattr(self, f"{axis}_{level}").data or "" for level in levels}
            for axis, levels in RISK_AXES.items()
        }


for _axis, _levels in RISK_AXES.items():
    for _level in _levels:
        setattr(
            RiskLabelsForm,
            f"{_axis}_{_level}",
            StringField(f"{_axis.capitalize()} {_level}", validators=[SingleLine()]),
        )


def parse_audit_filters(args, entity_types: list[str]) -> tuple[AuditFilters, list[str]]:
    """(filters, messages about values that were ignored)."""
    problems = []
    filters = AuditFilters()

    def number(name: str, what: str) -> int | None:
        raw = args.get(name) or ""
        if not raw:
            return None
        value = ascii_int(raw)
        if value is None:
            problems.append(f"The {what} must be a number; it was ignored.")
        return value

    filters.actor = number("actor", "person")
    filters.entity_id = number("record", "record id")
    filters.page = ascii_int(args.get("page") or "", 1, 100_000) or 1
    kind = args.get("type") or ""
    if kind:
        if kind in entity_types:
            filters.entity_type = kind
        else:
            problems.append("That kind of record is not in the log; it was ignored.")
    for name, attribute, what in (("from", "since", "from"), ("to", "until", "to")):
        raw = args.get(name) or ""
        if not raw:
            continue
        try:
            if not raw.isascii() or len(raw) != 10:
                raise ValueError
            day = date.fromisoformat(raw)
            if not 2000 <= day.year <= 2100:
                raise ValueError
            setattr(filters, attribute, day)
        except ValueError:
            problems.append(f"The {what} date must look like 2026-12-01; it was ignored.")
    if filters.since and filters.until and filters.since > filters.until:
        problems.append("The from date is after the to date, so nothing could match: both were ignored.")
        filters.since = filters.until = None
    return filters, problems
