"""The month's records as an Excel workbook (openpyxl): one sheet per table.

Trust-time columns hold real Excel date-times (shown as `2026-12-01 14:30`); the
`..._utc` columns beside them hold the same moment in UTC as text. Text that
Excel would read as a formula is stored as a plain string, never a formula.
"""

import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from ..periods import Period
from .csv_export import COLUMNS
from .month_data import month_tables
from .stamps import TIME_FORMAT

SHEETS = {
    "walkabouts": "Walkabouts",
    "concerns": "Concerns",
    "actions": "Actions",
    "feedback": "Feedback",
    "wards": "Wards",
    "executives": "Executives",
    "staff_answers": "Staff answers",
    "pulse": "Pulse",
}
TIME_COLUMNS = {
    "created_at",
    "completed_at",
    "verified_at",
    "scheduled_start",
    "started_at",
    "original_start",
    "delivered_at",
    "open_actions_reviewed_at",
    "deleted_at",
    "first_action_at",
    "last_held_start",
}
EXCEL_TIME = "yyyy-mm-dd hh:mm"


def _columns(rows: list[dict]) -> list[str]:
    used = {name for row in rows for name, value in row.items() if value not in ("", None)}
    return [name for name in COLUMNS if name in used or name in ("record_type", "id")]


def month_workbook(session: Session, period: Period) -> bytes:
    """The workbook's bytes (.xlsx)."""
    book = Workbook()
    book.remove(book.active)
    for key, rows in month_tables(session, period).items():
        sheet = book.create_sheet(SHEETS[key])
        columns = _columns(rows)
        sheet.append(columns)
        for row in rows:
            sheet.append([None] * len(columns))
            line = sheet.max_row
            for index, name in enumerate(columns, start=1):
                value = row.get(name)
                cell = sheet.cell(row=line, column=index)
                if name in TIME_COLUMNS and value:
                    cell.value = datetime.strptime(value, TIME_FORMAT)
                    cell.number_format = EXCEL_TIME
                elif isinstance(value, int) and not isinstance(value, bool):
                    cell.value = value
                else:
                    cell.value = "" if value is None else str(value)
                    cell.data_type = "s"  # never a formula, whatever the text starts with
        for index, name in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(50, len(name) + 4))
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
