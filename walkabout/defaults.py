"""Sensible defaults for the admin-editable lists and settings, inserted by the migrations
(0001: categories and script; 0008: read-back words, staff roles, pulse statements,
risk-matrix words, the branding row). Administrators change them in Admin > Lists and Trust."""

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

READBACK = (
    "Let us read back what we heard, so you can tell us if we have it right and which two "
    "or three matter most to you."
)

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


PULSE_STATEMENTS = [
    "I would feel safe being treated on this ward",
    "When I raise a safety concern, I hear what happened",
    "Leaders act on what staff tell them",
]

# NHS 5x5 risk matrix words for levels 1-5.
LIKELIHOOD_LABELS = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
CONSEQUENCE_LABELS = {1: "Negligible", 2: "Minor", 3: "Moderate", 4: "Major", 5: "Catastrophic"}
RISK_AXES = {"likelihood": LIKELIHOOD_LABELS, "consequence": CONSEQUENCE_LABELS}


def initial_list_rows() -> dict[str, list[dict]]:
    """Rows the first migration inserted (kept as they were: 0001 runs them)."""
    script = [("opening", OPENING)] + [("question", q) for q in QUESTIONS] + [("closing", CLOSING)]
    return {
        "category": [{"name": name, "sort_order": i, "active": True} for i, name in enumerate(CATEGORIES)],
        "prompt_question": [
            {"kind": kind, "text": text, "sort_order": i, "active": True}
            for i, (kind, text) in enumerate(script)
        ],
    }


def added_list_rows() -> dict[str, list[dict]]:
    """Rows migration 0008 inserts: read-back words, staff roles, pulse statements, risk words."""
    return {
        "prompt_question": [{"kind": "readback", "text": READBACK, "sort_order": 0, "active": True}],
        "staff_role": [{"name": name, "sort_order": i, "active": True} for i, name in enumerate(STAFF_ROLES)],
        "pulse_statement": [
            {"text": text, "sort_order": i, "active": True} for i, text in enumerate(PULSE_STATEMENTS)
        ],
        "risk_label": [
            {"axis": axis, "level": level, "label": label}
            for axis, labels in RISK_AXES.items()
            for level, label in labels.items()
        ],
        "trust_branding": [{"id": 1, "version": 1}],
    }


def default_list_rows() -> dict[str, list[dict]]:
    """Every default row of a new trust, by table (what the migrations leave behind)."""
    rows = initial_list_rows()
    for table, added in added_list_rows().items():
        rows[table] = rows.get(table, []) + added
    return rows
