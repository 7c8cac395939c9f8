"""Where a page's CPU goes: cProfile over requests in process, as bench/cpu.py makes them.

    .venv/bin/python -m bench.profile [--scale large] [--keep DIR] [--pages home dashboard]
                                      [--requests 50] [--sort tottime|cumulative] [--top 30]
                                      [--sql] [--out DIR]

The same set-up as bench/cpu.py (production settings, SQLite, the executive's walkabout in
progress with five concerns, the manager signed in). With --keep DIR the seeded trust is kept
as DIR/<scale>.db and later runs start from a copy of it (seeding xlarge takes ~30 s). For each
page: 3 warm-up requests, then --requests under cProfile; prints the CPU ms per request (without
the profiler, measured first), the SQL statements per request (each one's text and time with
--sql) and the top functions. --out DIR also writes DIR/<page>.prof (for snakeviz, pstats).
"""

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

from .common import MANAGER
from .cpu import SCALES, close_trust, get, open_trust, seeded_copy, set_up
from .targets import PAGES


def profile_page(client, url: str, requests: int, sql: bool, engine, sampling: bool = False):
    """CPU ms per request, statements per request (with their text and ms) and the profile."""
    from sqlalchemy import event

    for _ in range(3):
        get(client, url)
    started = time.process_time()
    for _ in range(requests):
        get(client, url)
    cpu_ms = (time.process_time() - started) * 1000 / requests
    statements: list[tuple[str, float]] = []

    def before(_conn, _cursor, statement, *_args):
        statements.append((statement, time.perf_counter()))

    def after(*_args):
        text, began = statements[-1]
        statements[-1] = (text, (time.perf_counter() - began) * 1000)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    get(client, url)
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    if sampling:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        for _ in range(requests):
            get(client, url)
        profiler.stop()
    else:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            get(client, url)
        profiler.disable()
    return cpu_ms, statements if sql else len(statements), profiler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=SCALES, default="large")
    parser.add_argument("--keep", type=Path, help="keep the seeded trust here and reuse it")
    parser.add_argument("--pages", nargs="+", choices=[p.key for p in PAGES], default=[p.key for p in PAGES])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print each statement and its time")
    parser.add_argument("--out", type=Path, help="write <page>.prof files here")
    parser.add_argument(
        "--sampling",
        action="store_true",
        help="pyinstrument's sampling profiler (low overhead; template lines named) instead of cProfile",
    )
    options = parser.parse_args()

    from walkabout.db import get_db

    app, folder, _seconds = open_trust(options.scale, seeded_copy(options.scale, options.keep))
    executive, manager, walkabout = set_up(app)
    engine = get_db(app).engine
    for page in (p for p in PAGES if p.key in options.pages):
        client = manager if page.user == MANAGER else executive
        cpu_ms, statements, profiler = profile_page(
            client, page.url(walkabout), options.requests, options.sql, engine, options.sampling
        )
        count = len(statements) if isinstance(statements, list) else statements
        print(f"\n=== {page.label} ({options.scale}): {cpu_ms:.1f} ms CPU, {count} SQL per request")
        if isinstance(statements, list):
            for text, ms in statements:
                print(f"  {ms:6.2f} ms  {' '.join(text.split())[:160]}")
        if options.sampling:
            print(profiler.output_text(unicode=False, color=False, show_all=False))
            if options.out:
                options.out.mkdir(parents=True, exist_ok=True)
                (options.out / f"{page.key}.html").write_text(profiler.output_html())
            continue
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(options.sort).print_stats(options.top)
        print(out.getvalue())
        if options.out:
            options.out.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(options.out / f"{page.key}.prof")
    close_trust(app, folder)


if __name__ == "__main__":
    main()
