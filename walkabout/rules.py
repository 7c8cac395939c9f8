"""The domain's numbers and the messages that go with them, defined once: forms,
services, templates and capture.js (through data attributes) all read them here."""

from dataclasses import dataclass

from wtforms.validators import DataRequired, Length, Optional

# NHS 5x5 risk matrix: the highest score (likelihood x consequence) in each band, lowest first.
RISK_BANDS: tuple[tuple[int, str], ...] = ((3, "low"), (6, "moderate"), (12, "high"), (25, "extreme"))
RISK_SCALE = (1, 5)  # likelihood and consequence each run 1..5


def score_out_of_range(what: str) -> str:
    return f"Choose a {what} from {RISK_SCALE[0]} to {RISK_SCALE[1]}."


# Days to fix an action, by the concern's risk band (ACTION_DUE_DAYS overrides them).
ACTION_DUE_DAYS = {"extreme": 7, "high": 14, "moderate": 30, "low": 60}
MAX_DUE_DAYS_AHEAD = 3 * 365

# Photos: the largest upload, and the longest side once stored.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDE = 1600
PHOTO_LIMIT_LABEL = f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB"
PHOTO_TOO_LARGE = f"The photo is larger than {PHOTO_LIMIT_LABEL}. Take it again at a lower resolution."


@dataclass(frozen=True)
class TextRule:
    """A text a person writes: what it is (for messages) and how long it may be."""

    what: str
    limit: int

    @property
    def missing(self) -> str:
        return f"Write {self.what}."

    def too_long(self, length: int | None = None) -> str:
        counted = f" (it has {length:,})" if length is not None else ""
        return f"Keep {self.what} under {self.limit:,} characters{counted}."

    def validators(self, required: bool = True) -> list:
        """The WTForms validators saying the same as `problem`."""
        length = Length(max=self.limit, message=self.too_long())
        return [DataRequired(self.missing), length] if required else [Optional(), length]

    def problem(self, value: str, required: bool = True) -> str | None:
        """The message for `value` (already stripped), or None when it is fine."""
        if required and not value:
            return self.missing
        if len(value) > self.limit:
            return self.too_long(len(value))
        return None


# Concerns and completing a walkabout
CONCERN_TEXT = TextRule("what was said", 5000)
RAISED_BY_ROLE = TextRule("the role", 120)
IMMEDIATE_ACTION = TextRule("the action taken on the spot", 2000)
SUMMARY_NOTES = TextRule("the summary", 10000)
FEEDBACK_NOTES = TextRule("what was fed back", 2000)
OTHER_ROLE = TextRule("the other role", 120)
LATE_NOTE = TextRule("the note", 2000)
MAX_PARTICIPANTS = 200  # staff of one role at one walkabout
PARTICIPANTS_OUT_OF_RANGE = f"Use a number from 0 to {MAX_PARTICIPANTS}."
# Staff voice (issue 18): the few items staff care most about, marked at read-back.
MAX_PRIORITIES = 3
TOO_MANY_PRIORITIES = (
    f"Staff can choose at most {MAX_PRIORITIES} priorities. Take one off before marking another."
)

# Actions
ACTION_DESCRIPTION = TextRule("what needs doing", 2000)
NO_ACTION_REASON = TextRule("why no action is needed", 1000)
PROGRESS_UPDATE = TextRule("the progress update", 5000)
DUE_DATE_REASON = TextRule("the reason for the new due date", 1000)
CLOSURE_NOTE = TextRule("a closure note saying what was done", 5000)
VERIFY_NOTE = TextRule("the verification note", 2000)
REOPEN_REASON = TextRule("why the action is reopened", 2000)
DELIVERY_NOTES = TextRule("the notes", 2000)

# Feedback to staff ("you said, we did", issue 15)
FEEDBACK_UPDATE = TextRule("what you tell the staff", 2000)
FEEDBACK_DAYS = 14  # default days from the visit to each concern's feedback due date
# "Did this fix it?" on the ward page (issue 18): anonymous answers, limited per ward link
# and address so a whole ward can answer after a huddle but a script cannot.
FIX_ANSWERS_PER_HOUR = 60
FIX_ANSWERS = {"yes": True, "not_yet": False}  # the posted value: fixed?
# The ward pulse (issue 18): anonymous, once per device per quarter; results per ward and
# quarter are shown only from this many responses, everywhere (pages, PDFs, CSV).
PULSE_MIN_RESPONSES = 5
PULSE_SCALE = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
PULSE_AGREE_FROM = 4  # "agree" and "strongly agree" count as agreeing
# Admin lists and trust settings
CATEGORY_NAME = TextRule("the category name", 80)
STAFF_ROLE_NAME = TextRule("the role", 120)
PULSE_STATEMENT = TextRule("the statement", 300)
SCRIPT_TEXT = TextRule("the words", 1000)
TRUST_NAME = TextRule("the trust's name", 120)
RISK_LABEL = TextRule("the word for each level", 40)
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 16_000_000  # 4000 x 4000: a print-quality logo fits, a 40 MP image does not
LOGO_MAX_SIDE = 600  # stored size; the header shows it 40 px high
LOGO_LIMIT_LABEL = f"{MAX_LOGO_BYTES // (1024 * 1024)} MB"
