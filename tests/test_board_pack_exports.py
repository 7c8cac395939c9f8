"""The month's CSV and Excel workbook reproduce the board pack: every figure is
recomputed here from the CSV alone, and the workbook is opened with openpyxl."""

import csv
import io
from datetime import UTC, datetime, timedelta
from statistics import median

import openpyxl

from walkabout.db import session_scope
from walkabout.models import FeedbackDelivery, Role, WalkaboutStatus
from walkabout.periods import add_months

from .conftest import login
from .report_data import ZONE, local, seed_month
from .staff_voice_data import HOSTILE_STATEMENT, seed_staff_voice
from .test_reports_pack import issue_pack

TIME = "%Y-%m-%d %H:%M"
CLOSED = ("completed", "verified")


def utc(text: str) -> datetime:
    return datetime.strptime(text, TIME).replace(tzinfo=UTC)


def recompute(rows: list[dict], month_key: str, working_hours=(8, 18), coverage_days=90) -> dict:
    """The pack's figures from the CSV rows only (and the trust's zone, for the month's end)."""
    of = {
        kind: [r for r in rows if r["record_type"] == kind]
        for kind in ("walkabout", "concern", "action", "feedback", "ward", "executive")
    }
    first = datetime.strptime(month_key + "-01", "%Y-%m-%d")
    end = datetime.combine((first + timedelta(days=32)).replace(day=1), datetime.min.time(), ZONE)
    end = end.astimezone(UTC)
    visits = [r for r in of["walkabout"] if r["in_month"] == "yes"]
    held = [r for r in visits if r["walkabout_status"] == "completed"]
    logged = [c for c in of["concern"] if c["in_month"] == "yes" and not c["deleted_at"]]
    concerns = [r for r in logged if r["kind"] == "concern"]
    open_risks = [
        c
        for c in of["concern"]
        if c["kind"] == "concern"
        and c["risk_score"]
        and int(c["risk_score"]) >= 8
        and c["status_at_month_end"] == "open"
    ]
    revisits = [r for r in held if int(r["open_actions_at_start"]) > 0]
    reviewed = [r for r in revisits if r["open_actions_reviewed"] == "yes"]
    in_month = lambda text: text.startswith(month_key)  # noqa: E731 (trust-time stamps)
    actions = of["action"]
    closed = [
        a for a in actions if a["action_status"] in CLOSED and in_month(a["verified_at"] or a["completed_at"])
    ]
    days = [
        (utc(a["verified_at_utc"] or a["completed_at_utc"]) - utc(a["created_at_utc"])).total_seconds()
        / 86400
        for a in closed
    ]
    next_month_first = (datetime.strptime(month_key + "-01", "%Y-%m-%d") + timedelta(days=32)).strftime(
        "%Y-%m-01"
    )
    overdue = [
        a
        for a in actions
        if a["status_at_month_end"] not in CLOSED and a["action_due_date"] < next_month_first
    ]
    waits = []
    for concern in concerns:
        raised = utc(concern["created_at_utc"])
        times = [
            utc(f["delivered_at_utc"])
            for f in of["feedback"]
            if f["walkabout_id"] == concern["walkabout_id"] and utc(f["delivered_at_utc"]) >= raised
        ]
        waits.append((min(times) - raised).total_seconds() / 86400 if times else None)
    fed = [w for w in waits if w is not None]
    within = sum(1 for w in fed if w <= 14)
    moved = [r for r in visits if r["rescheduled"] == "yes"]
    held_soon = [
        r
        for r in moved
        if r["walkabout_status"] == "completed"
        and utc(r["started_at_utc"] or r["scheduled_start_utc"]) - utc(r["original_start_utc"])
        <= timedelta(days=14)
    ]
    starts = [datetime.strptime(r["started_at"] or r["scheduled_start"], TIME) for r in held]
    outside = [t for t in starts if t.weekday() >= 5 or not working_hours[0] <= t.hour < working_hours[1]]
    bands = {
        band: sum(1 for c in concerns if c["risk_band"] == band)
        for band in ("low", "moderate", "high", "extreme")
    }

    def visited_within(days):
        return [
            w
            for w in of["ward"]
            if w["last_held_start_utc"] and utc(w["last_held_start_utc"]) >= end - timedelta(days=days)
        ]

    executive_held = {e["id"]: sum(1 for r in held if r["lead_id"] == e["id"]) for e in of["executive"]}
    waiting = [
        c
        for c in concerns
        if (c["status_at_month_end"] if c["status_at_month_end"] != "not known" else c["concern_status"])
        == "open"
        and utc(c["created_at_utc"]) < end - timedelta(days=7)
    ]
    no_action = [
        c
        for c in waiting
        if not c["first_action_at_utc"]
        or utc(c["first_action_at_utc"]) - utc(c["created_at_utc"]) > timedelta(days=7)
    ]
    fed_visits = [r for r in held if r["feedback_delivered"] == "yes"]
    return {
        "walkabouts": {
            "planned": len(visits),
            "held": len(held),
            "cancelled": sum(1 for r in visits if r["walkabout_status"] == "cancelled"),
            "rescheduled": len(moved),
            "feedback_given": len(fed_visits),
            "feedback_share": round(100 * len(fed_visits) / len(held)) if held else None,
        },
        "feedback_deliveries": sum(1 for f in of["feedback"] if f["in_month"] == "yes"),
        "wards": {
            "active": len(of["ward"]),
            "not_visited_90": len(of["ward"]) - len(visited_within(90)),
        },
        "coverage": {
            "active": len(of["ward"]),
            "visited": len(visited_within(coverage_days)),
            "share": round(100 * len(visited_within(coverage_days)) / len(of["ward"]))
            if of["ward"]
            else None,
        },
        "executives": {
            "even_share": round(sum(executive_held.values()) / len(of["executive"]), 1)
            if of["executive"]
            else None,
            "held": sorted(executive_held.values(), reverse=True),
        },
        "no_action": {"counted": len(waiting), "without_action": len(no_action)},
        "wards_covered": len({r["ward"] for r in held}),
        "concerns": {
            "raised": len(concerns),
            "good_practice": sum(1 for c in logged if c["kind"] == "good_practice"),
            "by_band": bands,
        },
        "actions": {
            "opened": sum(1 for a in actions if in_month(a["created_at"])),
            "completed": sum(1 for a in actions if in_month(a["completed_at"])),
            "verified": sum(1 for a in actions if in_month(a["verified_at"])),
            "overdue": len(overdue),
            "closed": len(days),
            "median_days_to_close": round(median(days), 1) if days else None,
        },
        "feedback": {
            "concerns": len(concerns),
            "within": within,
            "fed_back": len(fed),
            "share": round(100 * within / len(concerns)) if concerns else None,
            "median_days": round(median(fed), 1) if fed else None,
        },
        "reschedules": {"rescheduled": len(moved), "held_within": len(held_soon)},
        "open_high_risks_at_end": len(open_risks),
        "revisits": {
            "revisits": len(revisits),
            "reviewed": len(reviewed),
            "share": round(100 * len(reviewed) / len(revisits)) if revisits else None,
        },
        "out_of_hours": {
            "held": len(starts),
            "out_of_hours": len(outside),
            "share": round(100 * len(outside) / len(starts)) if starts else None,
        },
    }


def seed_with_feedback(app, factory):
    month = seed_month(factory)
    day = month.first_day.replace(day=5)
    with app.app_context(), session_scope(app) as session:
        session.add(
            FeedbackDelivery(
                ward_id=month.ward.id,
                walkabout_id=month.held.id,
                delivered_at=local(day + timedelta(days=2), 15),
                method="Safety huddle",
                notes='=HYPERLINK("http://evil.example") you said the lock was broken; we replaced it',
            )
        )
    factory.walkabout(
        month.other_ward,
        month.executive,
        start=local(day + timedelta(days=1), 19),
        status=WalkaboutStatus.COMPLETED,
        started_at=local(day + timedelta(days=1), 19),
    )
    # Revisits with the first visits' actions still open: one reviewed with the ward, one not.
    for ward, days, reviewed in ((month.ward, 12, True), (month.other_ward, 15, False)):
        factory.walkabout(
            ward,
            month.executive,
            start=local(day + timedelta(days=days)),
            status=WalkaboutStatus.COMPLETED,
            started_at=local(day + timedelta(days=days)),
            open_actions_reviewed_at=local(day + timedelta(days=days)) if reviewed else None,
        )
    factory.user(Role.EXECUTIVE, name="Ifeoma Nwosu")  # led none: below the even share
    factory.categorised_concern(  # open, and no action after 7 days
        month.held, "Communication", "Handover sheet leaves out allergies", 2, 2, created_at=local(day, 10)
    )
    # An extreme risk raised two months before, still open at this month's end.
    earlier_day = add_months(month.first_day, -1).replace(day=10)
    earlier = factory.walkabout(
        month.other_ward,
        month.executive,
        start=local(earlier_day),
        status=WalkaboutStatus.COMPLETED,
        started_at=local(earlier_day),
    )
    factory.categorised_concern(
        earlier, "Staffing", "Two nurses for 28 beds at night", 5, 3, created_at=local(earlier_day)
    )
    return month


def test_every_pack_figure_is_recomputed_from_the_csv_alone(app, factory, client):
    month = seed_with_feedback(app, factory)
    pack = issue_pack(app, month.key, month.secretary)
    login(client, month.secretary.email)
    response = client.get(f"/reports/monthly/{month.key}.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    kinds = {"walkabout", "concern", "action", "feedback", "ward", "executive"}
    assert {r["record_type"] for r in rows} == kinds
    again = recompute(rows, month.key, coverage_days=app.config["COVERAGE_THRESHOLD_DAYS"])
    f = pack.figures
    for key, value in again["walkabouts"].items():
        assert f["walkabouts"][key] == value, key
    assert f["wards"]["covered"] == again["wards_covered"]
    assert {k: f["concerns"][k] for k in ("raised", "good_practice")} == {
        k: again["concerns"][k] for k in ("raised", "good_practice")
    }
    assert {b: f["concerns"]["by_band"][b] for b in again["concerns"]["by_band"]} == again["concerns"][
        "by_band"
    ]
    assert {k: f["actions"][k] for k in again["actions"]} == again["actions"]
    assert f["loop"]["feedback"] == again["feedback"]
    assert f["loop"]["reschedules"] == again["reschedules"]
    assert f["loop"]["out_of_hours"] == again["out_of_hours"]
    assert f["loop"]["revisits"] == again["revisits"] == {"revisits": 2, "reviewed": 1, "share": 50}
    assert f["feedback_deliveries"] == again["feedback_deliveries"]
    assert {k: f["wards"][k] for k in again["wards"]} == again["wards"]
    assert f["loop"]["coverage"] == again["coverage"]
    assert f["loop"]["no_action"] == again["no_action"]
    shares = f["loop"]["executives"]
    assert shares["even_share"] == again["executives"]["even_share"] == 2.5
    assert [row["held"] for row in shares["executives"]] == again["executives"]["held"] == [5, 0]
    assert again["no_action"]["without_action"] == 1 and again["coverage"]["visited"] == 2
    assert f["open_high_risks_at_end"] == again["open_high_risks_at_end"] == 3  # one from an earlier month
    earlier = next(r for r in rows if r["text"] == "Two nurses for 28 beds at night")
    assert earlier["in_month"] == "no" and earlier["status_at_month_end"] == "open"
    # Trust time and UTC side by side, in the form Excel reads as a date and time.
    visit = next(r for r in rows if r["record_type"] == "walkabout" and r["id"] == str(month.held.id))
    assert visit["scheduled_start"] == month.held.scheduled_start.astimezone(month_zone()).strftime(TIME)
    assert visit["scheduled_start_utc"] == month.held.scheduled_start.astimezone(UTC).strftime(TIME)
    delivery = next(r for r in rows if r["record_type"] == "feedback" and "HYPERLINK" in r["feedback_text"])
    assert delivery["feedback_text"].startswith("'=HYPERLINK")  # neutralised
    closed = next(r for r in rows if r["record_type"] == "action" and r["text"] == "Replace the sluice lock")
    assert closed["status_at_month_end"] == "verified"


def month_zone():
    from .report_data import ZONE

    return ZONE


def test_the_workbook_has_a_sheet_per_table_and_matches_the_csv(app, factory, client):
    month = seed_with_feedback(app, factory)
    seed_staff_voice(app, factory, month)
    login(client, month.secretary.email)
    response = client.get(f"/reports/monthly/{month.key}.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="walkabouts-{month.key}.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Walkabouts",
        "Concerns",
        "Actions",
        "Feedback",
        "Wards",
        "Executives",
        "Staff answers",
        "Pulse",
    ]
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/reports/monthly/{month.key}.csv").data.decode("utf-8-sig")))
    )
    kinds = (
        "walkabout",
        "concern",
        "action",
        "feedback",
        "ward",
        "executive",
        "staff_answers",
        ("ward_quarter", "pulse"),
    )
    for sheet, kind in zip(book.worksheets, kinds, strict=True):
        header = [cell.value for cell in sheet[1]]
        expected = [r for r in rows if r["record_type"] in (kind if isinstance(kind, tuple) else (kind,))]
        assert sheet.max_row - 1 == len(expected), sheet.title
        for cells, row in zip(sheet.iter_rows(min_row=2), expected, strict=True):
            for name, cell in zip(header, cells, strict=True):
                value = cell.value
                if isinstance(value, datetime):
                    assert cell.number_format == "yyyy-mm-dd hh:mm"
                    value = value.strftime(TIME)
                text = "" if value is None else str(value)
                csv_text = row[name][1:] if row[name].startswith("'") else row[name]
                assert text == csv_text, (sheet.title, name)
                assert cell.data_type != "f", "no cell is a formula"
    feedback = book["Feedback"]
    column = [c.value for c in feedback[1]].index("feedback_text")
    notes = next(
        row[column].value for row in feedback.iter_rows(min_row=2) if "HYPERLINK" in str(row[column].value)
    )
    assert notes.startswith('=HYPERLINK("http://evil.example")')  # kept as text, not run


def test_the_exports_refuse_a_month_before_the_first_walkabout(app, factory, client):
    month = seed_month(factory)
    login(client, month.secretary.email)
    from walkabout.periods import add_months

    early = add_months(month.first_day, -4).strftime("%Y-%m")
    for suffix in (".csv", ".xlsx"):
        response = client.get(f"/reports/monthly/{early}{suffix}")
        assert response.status_code == 404 and "before the first walkabout" in response.get_data(as_text=True)


def recompute_staff_voice(rows: list[dict]) -> dict:
    """The pack's staff-voice figures from the CSV rows only."""
    priorities = [r for r in rows if r["record_type"] == "concern" and r["priority"] == "yes"]
    fixed = [r for r in priorities if r["status_at_month_end"] == "resolved"]
    answers = [r for r in rows if r["record_type"] == "staff_answers"]
    yes = sum(int(r["fix_yes"]) for r in answers)
    total = yes + sum(int(r["fix_not_yet"]) for r in answers)
    share = lambda part, whole: round(100 * part / whole) if whole else None  # noqa: E731
    quarters = {}
    for row in (r for r in rows if r["record_type"] == "ward_quarter"):
        quarter = quarters.setdefault(row["quarter"], {"wards": {}, "held": 0, "delivered": 0})
        quarter["wards"][row["ward"], row["site"]] = {
            "staff_responses": row["staff_responses"],
            "leader_sets": row["leader_sets"],
            "walkabouts_held": int(row["walkabouts_held"]),
            "feedback_delivered": int(row["feedback_delivered"]),
            "staff": {},
            "leaders": {},
        }
    for row in (r for r in rows if r["record_type"] == "pulse"):
        ward = quarters[row["quarter"]]["wards"][row["ward"], row["site"]]
        text = row["text"][1:] if row["text"].startswith("'=") else row["text"]  # neutralised formula
        ward[row["pulse_side"]][text] = (int(row["answers"]), int(row["agreeing"]))
    out = {}
    for key, quarter in quarters.items():
        wards = {}
        trust = {"staff": {}, "leaders": {}}
        for place, ward in quarter["wards"].items():
            figures = {}
            for side in ("staff", "leaders"):
                statements = ward[side]
                pooled = (sum(a for a, _ in statements.values()), sum(g for _, g in statements.values()))
                figures[side] = share(pooled[1], pooled[0]) if statements else None
                figures[side + "_statements"] = {t: share(g, a) for t, (a, g) in statements.items()}
                for text, (a, g) in statements.items():
                    total_a, total_g = trust[side].get(text, (0, 0))
                    trust[side][text] = (total_a + a, total_g + g)
            wards[place] = figures
        out[key] = {
            "wards": wards,
            "gap": {
                text: share(trust["leaders"][text][1], trust["leaders"][text][0])
                - share(trust["staff"][text][1], trust["staff"][text][0])
                for text in trust["staff"]
                if text in trust["leaders"]
            },
        }
    return {
        "priorities": {
            "priorities": len(priorities),
            "fixed": len(fixed),
            "share": share(len(fixed), len(priorities)),
        },
        "fixes": {"answers": total, "yes": yes, "not_yet": total - yes, "share": share(yes, total)},
        "pulse": out,
    }


def test_the_staff_voice_figures_are_recomputed_from_the_csv_alone(app, factory, client):
    month = seed_with_feedback(app, factory)
    voice = seed_staff_voice(app, factory, month)
    pack = issue_pack(app, month.key, month.secretary)
    login(client, month.secretary.email)
    data = client.get(f"/reports/monthly/{month.key}.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    again = recompute_staff_voice(rows)
    sv = pack.figures["staff_voice"]
    assert sv["priorities"] == again["priorities"] == {"priorities": 2, "fixed": 1, "share": 50}
    assert sv["fixes"] == again["fixes"] == {"answers": 4, "yes": 3, "not_yet": 1, "share": 75}
    for quarter in sv["pulse"]:
        redone = again["pulse"].get(quarter["key"], {"wards": {}, "gap": {}})
        assert len(quarter["wards"]) == len(redone["wards"]), quarter["key"]
        for ward in quarter["wards"]:
            figures = redone["wards"][ward["ward"], ward["site"]]
            for side in ("staff", "leaders"):
                assert ward[side]["agree_percent"] == figures[side], (ward["ward"], side)
                shown = dict(zip(quarter["statements"], ward[side]["statements"], strict=True))
                assert {t: p for t, p in shown.items() if p is not None} == figures[side + "_statements"]
        assert {row["statement"]: row["gap"] for row in quarter["gap"] if row["gap"] is not None} == redone[
            "gap"
        ]
    assert again["pulse"][voice.quarter]["gap"] == {
        HOSTILE_STATEMENT: 40,
        "I would feel safe being treated here": 0,
    }
    # Suppression kept: Cedar Ward's three devices and one leader's set give no figure and no count.
    cedar = next(r for r in rows if r["record_type"] == "ward_quarter" and r["ward"] == "Cedar Ward")
    assert cedar["staff_responses"] == cedar["leader_sets"] == "fewer than 5"
    assert not [r for r in rows if r["record_type"] == "pulse" and r["ward"] == "Cedar Ward"]
    beech = next(r for r in rows if r["record_type"] == "ward_quarter" and r["ward"] == "Beech Ward")
    # Beech Ward's walkabouts held that quarter: the month's held visit and its revisit.
    assert (beech["staff_responses"], beech["leader_sets"], beech["walkabouts_held"]) == ("5", "5", "2")
    # The administrators' statement text is neutralised as a formula, kept as text.
    statement_cells = {r["text"] for r in rows if r["record_type"] == "pulse"}
    assert "'" + HOSTILE_STATEMENT in statement_cells and HOSTILE_STATEMENT not in statement_cells
