"""Benchmark the report PDFs against WeasyPrint rendering a trivial one-page document.

    .venv/bin/python bench/reports_bench.py [--db PATH] [--runs 5]

Seeds `seed-demo --scale large` into a scratch SQLite database (or reuses --db),
then measures, in the same run:
  - a trivial one-page WeasyPrint document (the baseline),
  - the follow-up summary PDF of the completed walkabout with the most concerns,
  - the board pack of last month, built by the real job (runner.generate_board_pack)
    in a child process whose peak RSS is read from the kernel (ru_maxrss).
Budgets (DESIGN.md section 7): summary < 0.5 s; board pack < 2 s and < 300 MB peak.
"""

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TRIVIAL = "<html lang='en'><head><title>t</title></head><body><h1>Hello</h1><p>One page.</p></body></html>"


def make_app(db_path: Path):
    from walkabout import create_app

    return create_app(
        {"ENV": "development", "DATABASE_URL": f"sqlite:///{db_path}", "REPORTS_RUNNER": "scheduler"}
    )


def prepare(db_path: Path, seed: bool) -> None:
    """Migrate to head (a kept database may be older), and seed the large trust into a new one."""
    app = make_app(db_path)
    runner = app.test_cli_runner()
    steps = [
        ["db-upgrade"],
        *([["seed-demo", "--scale", "large", "--password", "bench-password"]] if seed else []),
    ]
    for args in steps:
        result = runner.invoke(args=args)
        if result.exit_code:
            raise SystemExit(result.output)


def timed(function, runs: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds of this process over `runs` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def child_board_pack(db_path: str, month: str) -> None:
    """In a fresh process: request and build one pack with the real job; print timing and peak RSS."""
    import sqlalchemy as sa
    from pypdf import PdfReader
    from sqlmodel import select

    from walkabout.db import session_scope
    from walkabout.models import BoardPack, BoardPackStatus
    from walkabout.reports.runner import generate_board_pack

    app = make_app(Path(db_path))
    seconds = []
    for _ in range(2):  # the first pack of a fresh process, then one in a warm process
        with app.app_context(), session_scope(app) as session:
            top = (
                session.exec(select(sa.func.max(BoardPack.version)).where(BoardPack.month == month)).one()
                or 0
            )
            pack = BoardPack(month=month, version=top + 1, status=BoardPackStatus.PENDING)
            session.add(pack)
            session.flush()
            pack_id = pack.id
        start, cpu = time.perf_counter(), time.process_time()
        status = generate_board_pack(app, pack_id)
        seconds.append((time.perf_counter() - start, time.process_time() - cpu))
        assert status == BoardPackStatus.READY, status
    with app.app_context(), session_scope(app, write=False) as session:
        pdf = session.get(BoardPack, pack_id).pdf
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "cold": seconds[0][0],
                "warm": seconds[1][0],
                "cold_cpu": seconds[0][1],
                "warm_cpu": seconds[1][1],
                "peak_mb": peak_mb,
                "bytes": len(pdf),
                "pages": len(PdfReader(io.BytesIO(pdf)).pages),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, help="reuse this large-trust SQLite database")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pack-child", nargs=2, metavar=("DB", "MONTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("WALKABOUT_ENV", "development")
    if args.pack_child:
        child_board_pack(*args.pack_child)
        return

    scratch = Path(tempfile.mkdtemp(prefix="walkabout-bench-"))
    os.environ.setdefault("WALKABOUT_INSTANCE_PATH", str(scratch))
    db_path = args.db or scratch / "large.db"
    if not db_path.exists():
        print(f"Seeding the large demo trust into {db_path} ...", flush=True)
    prepare(db_path, seed=not db_path.exists())

    import sqlalchemy as sa
    from sqlmodel import select

    from walkabout.db import session_scope
    from walkabout.models import Concern, User, Walkabout, WalkaboutStatus
    from walkabout.periods import add_months
    from walkabout.reports.pdf import render_pdf
    from walkabout.reports.summary import summary_pdf
    from walkabout.services import reports as service
    from walkabout.timeutil import local_today

    app = make_app(db_path)
    with app.app_context(), session_scope(app, write=False) as session:
        render_pdf(TRIVIAL)  # warm-up: fonts and WeasyPrint's caches
        trivial = timed(lambda: render_pdf(TRIVIAL), args.runs)
        walkabout_id = session.exec(
            select(Walkabout.id)
            .join(Concern, Concern.walkabout_id == Walkabout.id)
            .where(Walkabout.status == WalkaboutStatus.COMPLETED)
            .group_by(Walkabout.id)
            .order_by(sa.func.count(Concern.id).desc())
            .limit(1)
        ).one()
        secretary = session.exec(select(User).where(User.email == "secretary@example.org")).one()
        month = add_months(local_today(), -1).strftime("%Y-%m")

        def summary():
            return summary_pdf(session, service.follow_up(session, secretary, walkabout_id))

        summary()
        follow_up = timed(summary, args.runs)
        concerns = session.exec(select(sa.func.count()).where(Concern.walkabout_id == walkabout_id)).one()

    packs = []
    for _ in range(3):
        output = subprocess.run(
            [sys.executable, __file__, "--pack-child", str(db_path), month],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ,
        ).stdout
        packs.append(json.loads(output.strip().splitlines()[-1]))
    pack_cold = statistics.median(p["cold"] for p in packs), statistics.median(p["cold_cpu"] for p in packs)
    pack_seconds = (
        statistics.median(p["warm"] for p in packs),
        statistics.median(p["warm_cpu"] for p in packs),
    )
    pack_peak = max(p["peak_mb"] for p in packs)

    print()
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(CPU seconds are what the work costs; wall seconds include waiting for a busy machine)"
    )
    print(f"{'what':<50} {'wall s':>7} {'CPU s':>7} {'x trivial':>9}  budget")
    rows = [
        ("trivial one-page WeasyPrint document", trivial, ""),
        (f"follow-up summary ({concerns} concerns)", follow_up, "< 0.5 s"),
        (f"board pack {month} ({packs[0]['pages']} pages, large trust)", pack_seconds, "< 2 s"),
        ("  the first pack in a fresh process", pack_cold, ""),
    ]
    for label, (wall, cpu), budget in rows:
        print(f"{label:<50} {wall:>7.3f} {cpu:>7.3f} {cpu / trivial[1]:>9.1f}  {budget}")
    print(
        f"{'board pack: peak RSS of the generating process':<50} {pack_peak:>6.0f}M {'':>7} {'':>9}  < 300 MB"
    )
    ok = follow_up[1] < 0.5 and pack_seconds[1] < 2 and pack_peak < 300
    print("\nWithin budget (CPU time)." if ok else "\nOVER BUDGET (CPU time).")


if __name__ == "__main__":
    main()
