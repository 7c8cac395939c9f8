"""The kinds of message Walkabout sends, and which ones people may turn off."""

from dataclasses import dataclass
from datetime import time

# The daily digest (and the weekly escalation, on Mondays) go out from this local time.
DIGEST_TIME = time(8, 0)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    optional: bool = True  # people may opt out


INVITATION = Kind("invitation", "Walkabout invitations and changes", optional=False)
REMINDER_WARD = Kind("reminder_ward", "Reminder to ward managers a week before a walkabout")
REMINDER_TEAM = Kind("reminder_team", "Reminder to the team the day before a walkabout")
SUMMARY = Kind("summary", "Follow-up summary when a walkabout on my ward is completed")
NEW_ACTION = Kind("new_action", "New action assigned to me")
OVERDUE_DIGEST = Kind(
    "overdue_digest", "Daily digest of my overdue actions (executives: and their walkabouts' follow-up)"
)
ESCALATION = Kind("escalation", "Weekly list of actions overdue by more than 14 days (lead executives)")
BOARD_PACK = Kind("board_pack", "Monthly board pack (board secretaries)")
FIX_NOT_YET = Kind("fix_not_yet", "Ward staff say an action I verified has not fixed their concern yet")


# --- account security (issue 20): always sent, never in the preferences ---------
PASSWORD_RESET = Kind("password_reset", "Link to choose a new password, when I ask for one", optional=False)
SIGN_IN_FAILURES = Kind("sign_in_failures", "Repeated failed sign-ins on my account", optional=False)
ACCOUNT_SECURITY = [PASSWORD_RESET, SIGN_IN_FAILURES]

ALL = [
    INVITATION,
    REMINDER_WARD,
    REMINDER_TEAM,
    SUMMARY,
    NEW_ACTION,
    OVERDUE_DIGEST,
    ESCALATION,
    BOARD_PACK,
    FIX_NOT_YET,
    *ACCOUNT_SECURITY,
]
BY_KEY = {kind.key: kind for kind in ALL}
OPTIONAL = [kind for kind in ALL if kind.optional]
