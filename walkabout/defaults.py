"""Sensible defaults for the admin-editable lists (inserted by the first migration)."""

CATEGORIES = [
    "Staffing",
    "Equipment",
    "Environment",
    "Communication",
    "Medication",
    "Infection prevention",
    "Patient flow",
    "Training",
    "Other",
]

OPENING = (
    "We are here to listen and learn, not to inspect. We want to hear what makes it hard "
    "to keep patients safe here, so that leadership can help. We won't write down anyone's "
    "name, only their role, and we will come back to tell you what we did."
)

QUESTIONS = [
    "What could cause the next patient to be harmed here?",
    "Where does the system fail you regularly?",
    "What could leadership do to make your work safer?",
    "Any near misses or harm this week?",
    "What is going well that others could learn from?",
]

CLOSING = (
    "Thank you. Let us read back what we heard to check we have it right. We will agree "
    "actions with named owners and come back to tell you what happened."
)

STAFF_ROLES = [
    "Staff nurse",
    "Ward sister / charge nurse",
    "Healthcare assistant",
    "Student nurse",
    "Junior doctor",
    "Consultant",
    "Physiotherapist",
    "Occupational therapist",
    "Pharmacist",
    "Housekeeper / domestic",
    "Porter",
    "Ward clerk",
]


def default_list_rows() -> dict[str, list[dict]]:
    """Rows for the `category` and `prompt_question` tables of a new trust."""
    script = [("opening", OPENING)] + [("question", q) for q in QUESTIONS] + [("closing", CLOSING)]
    return {
        "category": [{"name": name, "sort_order": i, "active": True} for i, name in enumerate(CATEGORIES)],
        "prompt_question": [
            {"kind": kind, "text": text, "sort_order": i, "active": True}
            for i, (kind, text) in enumerate(script)
        ],
    }
