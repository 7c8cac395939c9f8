"""The month's records as CSV: every walkabout, concern, action, feedback delivery and
staff-voice figure (staff's answers, the pulse, suppressed below 5) the board pack
counts, and the active wards and executives its coverage and even-share figures count,
one row each (`record_type` says which), stable columns.

UTF-8 with a byte order mark (so Excel detects the encoding) and cells that
start with = + - @ (or a tab / carriage return) prefixed with an apostrophe, so a
spreadsheet never runs them as formulas (CSV injection).
"""

import csv
import io

from sqlmodel import Session

from ..periods import Period
from .month_data import month_tables

COLUMNS = [
    "record_type",
    "id",
    "concern_id",
    "walkabout_id",
    "walkabout_date",
    "site",
    "ward",
    "kind",
    "category",
    "text",
    "likelihood",
    "consequence",
    "risk_score",
    "risk_band",
    "raised_by_role",
    "concern_status",
    "action_owner",
    "action_due_date",
    "action_status",
    "action_priority",
    "created_at",
    "completed_at",
    "verified_at",
    # added for issue 19: the rest of what the pack counts
    "in_month",
    "status_at_month_end",
    "closure_note",
    "walkabout_status",
    "lead",
    "lead_job_title",
    "scheduled_start",
    "started_at",
    "original_start",
    "rescheduled",
    "cancel_reason",
    "delivered_at",
    "method",
    "feedback_text",
    "created_at_utc",
    "completed_at_utc",
    "verified_at_utc",
    "scheduled_start_utc",
    "started_at_utc",
    "original_start_utc",
    "delivered_at_utc",
    # staff voice (issue 18): priorities, staff's answers, the pulse and leaders' view
    "priority",
    "fix_yes",
    "fix_not_yet",
    "quarter",
    "pulse_side",
    "staff_responses",
    "leader_sets",
    "answers",
    "agreeing",
    "walkabouts_held",
    "feedback_delivered",  # a walkabout row: yes/no; a ward_quarter row: deliveries counted
    # the revisit figure, and concerns deleted after the month's end (issue 19, part 2)
    "open_actions_at_start",
    "open_actions_reviewed",
    "open_actions_reviewed_at",
    "open_actions_reviewed_at_utc",
    "deleted_at",
    "deleted_at_utc",
    # what the coverage, even-share, walkabout feedback and no-action figures count
    "lead_id",
    "first_action_at",
    "first_action_at_utc",
    "last_held_start",
    "last_held_start_utc",
    "person",
    "job_title",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def month_csv(session: Session, period: Period) -> bytes:
    """The month's records (see month_data), as UTF-8-with-BOM CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for rows in month_tables(session, period).values():
        for row in rows:
            writer.writerow([neutralise(row.get(name)) for name in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
