"""The one validator for single-line text (names, titles, focus, guests, roles).

Control characters there break what the text later goes into: a line break in a
ward name ends an email header early or splits a calendar line. Browsers cannot
type them into a one-line input, so they only arrive from pastes or crafted posts.
"""

import re

from wtforms.validators import ValidationError

# C0 and C1 controls (tab, CR and LF among them), DEL, and the Unicode line/paragraph separators.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class SingleLine:
    """Refuse a value holding a control character, with a message naming the field."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(
                f"Keep the {field.label.text.lower()} on one line: no line breaks, tabs or "
                "other control characters."
            )
