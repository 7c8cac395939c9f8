"""WCAG 2.2 AA on every page: axe-core in Chromium, once per role that sees different content.

axe-core comes from npm (pinned in package.json, installed by `make vendor`) and is
injected as a DevTools init script, so it runs beside the app's own scripts under the
app's Content-Security-Policy without loosening it (a CSP violation is a console error,
which fails the `page` fixture).
"""

import json
from pathlib import Path

import pytest

from .conftest import SCREENSHOTS, assert_no_horizontal_scroll, screenshot
from .site_pages import EXEMPT, PAGES, ROLES, build_world, pages_for, role_id
from .test_actions_flow import sign_in

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
REPORTS = SCREENSHOTS.parent / "axe"

# Every disclosure opened; the "More" menu, which covers the page when open, is checked on its own.
RUN_AXE = """async ([tags, menu]) => {
  const folds = menu ? 'details.nav-more' : 'details:not(.nav-more)';
  document.querySelectorAll(folds).forEach((d) => { d.open = true; });
  const context = menu ? {include: [['details.nav-more']]} : document;
  const result = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  document.querySelectorAll('details.nav-more').forEach((d) => { d.open = false; });
  return {passes: result.passes.length, violations: result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(1).join(' ')),
  }))};
}"""


def axe_source() -> Path:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make vendor`, which installs the pinned axe-core from npm.")
    return AXE


def look_at(page, desktop, url: str, name: str) -> None:
    """Screenshots at phone and desktop width (details open, menu shut); no sideways scroll at 360 px."""
    screenshot(page, f"{name}-phone")
    desktop.goto(url)
    desktop.evaluate("document.querySelectorAll('details:not(.nav-more)').forEach((d) => { d.open = true; })")
    screenshot(desktop, f"{name}-desktop")
    desktop.set_viewport_size(NARROW)
    assert_no_horizontal_scroll(desktop)
    desktop.set_viewport_size(DESKTOP)


def test_every_html_route_is_checked_or_exempt(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    unchecked = endpoints - set(PAGES) - set(EXEMPT)
    stale = (set(PAGES) | set(EXEMPT)) - endpoints
    assert not unchecked, (
        f"GET routes with neither an accessibility check nor an exemption: {sorted(unchecked)}"
    )
    assert not stale, f"accessibility entries for routes that no longer exist: {sorted(stale)}"
    assert all(EXEMPT.values()), "every exemption gives its reason"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_axe_finds_no_serious_violation(live_server, live_app, browser, page, factory, role):
    users, ids = build_world(live_app, factory)
    page.context.add_init_script(path=str(axe_source()))
    if role is not None:
        sign_in(page, live_server, users[role].email)
    desktop = browser.new_context(viewport=DESKTOP, storage_state=page.context.storage_state()).new_page()
    failures, minor = [], []
    for name, url in pages_for(role, ids):
        response = page.goto(live_server + url)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert page.evaluate("typeof axe.run") == "function", f"axe-core did not load on {url}"
        result = page.evaluate(RUN_AXE, [TAGS, False])
        assert result["passes"] > 0, f"axe-core checked nothing on {url}"
        violations = result["violations"]
        if name == "home.index" and role is not None:
            violations += page.evaluate(RUN_AXE, [TAGS, True])["violations"]
        for violation in violations:
            line = f"{url} ({name}): [{violation['impact']}] {violation['id']}: {violation['help']}"
            details = "".join(f"\n    {node}" for node in violation["nodes"][:5])
            (failures if violation["impact"] in BLOCKING else minor).append(line + details)
        look_at(page, desktop, live_server + url, f"{role_id(role)}-{name}")
    desktop.context.close()
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = {"blocking": failures, "minor": minor}
    (REPORTS / f"{role_id(role)}.json").write_text(json.dumps(report, indent=2))
    if minor:
        print(f"\naxe-core, minor or moderate, as {role_id(role)}:\n" + "\n".join(minor))
    assert not failures, f"axe-core, serious or critical, as {role_id(role)}:\n" + "\n".join(failures)
