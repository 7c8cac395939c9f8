"""The Nu Html Checker (npm vnu-jar, pinned; Java 17) over every page of the site map, per role."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import login
from .conftest import SCREENSHOTS
from .site_pages import ROLES, build_world, pages_for, role_id

ROOT = Path(__file__).resolve().parents[2]
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
PAGES_DIR = SCREENSHOTS.parent / "html"


def test_every_page_is_valid_html(app, factory):
    if not VNU.is_file():
        pytest.fail(f"{VNU} is missing: run `make vendor`, which installs the pinned vnu-jar from npm.")
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: the Nu Html Checker needs Java 17 or later.")
    users, ids = build_world(app, factory)
    shutil.rmtree(PAGES_DIR, ignore_errors=True)
    PAGES_DIR.mkdir(parents=True)
    files = {}
    for role in ROLES:
        client = app.test_client()
        if role is not None:
            login(client, users[role].email)
        for name, url in pages_for(role, ids):
            response = client.get(url)
            assert response.mimetype == "text/html", f"{url} answered {response.mimetype}"
            path = PAGES_DIR / f"{role_id(role)}-{name}.html"
            path.write_bytes(response.get_data())
            files[str(path)] = f"{url} as {role_id(role)}"
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))} line {m.get('lastLine')}: "
        f"{m['message']} [{m.get('extract', '').strip()[:120]}]"
        for m in messages
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert len(files) > 40, "the site map lost its pages"
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors)
