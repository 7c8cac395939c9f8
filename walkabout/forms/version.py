"""The hidden `version` field every edit form carries (the record version the user opened)."""

import re

from wtforms import HiddenField

VERSION_PATTERN = re.compile(r"[0-9]{1,9}")  # ASCII only: no superscript or Arabic-Indic digits


def parse_version(value: object) -> int | None:
    """The version as an int, or None when missing or not plain ASCII digits (always stale)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else ""
    return int(text) if VERSION_PATTERN.fullmatch(text) else None


class VersionField(HiddenField):
    """Never fails validation: a missing or odd version reaches the service as None, a Conflict."""

    def process_data(self, value) -> None:
        self.data = parse_version(value)

    def process_formdata(self, valuelist) -> None:
        self.data = parse_version(valuelist[0]) if valuelist else None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)
