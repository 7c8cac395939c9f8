"""Keyboard alone (Tab, Shift+Tab, Enter, Space and typing) in Chromium: sign in, log a concern,
assign an action, complete it and verify it. Every control reached shows where the focus is."""

from playwright.sync_api import Error, expect

from walkabout.db_types import utcnow
from walkabout.models import Role

from ..factories import Factory

FOCUSED = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  const tidy = (t) => (t || '').replace(/\s+/g, ' ').trim();
  return {text: tidy(el.innerText || el.value || label || el.getAttribute('aria-label')),
          label: tidy(label), tag: el.tagName.toLowerCase()};
}"""

# The design system's focus state: a yellow highlight or outline, so the focus is never invisible.
FOCUS_VISIBLE = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return style.outlineStyle !== 'none' || style.boxShadow !== 'none'
    || style.backgroundColor === 'rgb(255, 235, 59)';
}"""


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused control's text or label starts with `name`."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        try:
            focused = page.evaluate(FOCUSED)
        except Error:  # the previous Enter's page was still loading
            page.wait_for_load_state()
            focused = page.evaluate(FOCUSED)
        if focused and (focused["text"].startswith(name) or focused["label"].startswith(name)):
            assert page.evaluate(FOCUS_VISIBLE), f"no visible focus on {focused}"
            return
        seen.append(focused and focused["text"][:30])
    raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")


def keyboard_sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    tab_to(page, "Email")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(Factory.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def keyboard_sign_out(page) -> None:
    tab_to(page, "More")
    page.keyboard.press("Enter")  # the menu is a disclosure: Enter opens it
    tab_to(page, "Sign out")
    page.keyboard.press("Space")
    page.wait_for_url("**/login*")


def test_log_assign_complete_verify_with_the_keyboard_alone(live_server, page, factory):
    executive = factory.user(Role.EXECUTIVE, email="exec@example.org", name="Sarah Exec")
    manager = factory.user(Role.WARD_MANAGER, email="manager@example.org", name="Mo Manager")
    ward = factory.ward(name="Beech Ward", managers=(manager,))
    factory.walkabout(ward, executive, start=utcnow())

    keyboard_sign_in(page, live_server, executive.email)
    tab_to(page, "Start")
    page.keyboard.press("Enter")
    page.wait_for_url("**/capture")
    tab_to(page, "What was said")
    page.keyboard.type("The hoist sling is frayed")
    tab_to(page, "Log it")
    page.keyboard.press("Enter")
    expect(page.locator("#concern-list").get_by_text("The hoist sling is frayed")).to_be_visible()
    expect(page.get_by_text("Saved.")).to_be_visible()

    tab_to(page, "Assign action")
    page.keyboard.press("Enter")
    page.wait_for_url("**/actions/new")
    tab_to(page, "What needs doing")
    page.keyboard.press("Control+A")
    page.keyboard.type("Replace the frayed hoist sling")
    tab_to(page, "Owner")  # the ward's manager is chosen already; Tab moves on without changing it
    tab_to(page, "Assign")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Replace the frayed hoist sling").first).to_be_visible()
    keyboard_sign_out(page)

    keyboard_sign_in(page, live_server, manager.email)
    tab_to(page, "Replace the frayed hoist sling")
    page.keyboard.press("Enter")
    page.wait_for_url("**/actions/*")
    tab_to(page, "Closure note")
    page.keyboard.type("New sling fitted and the old one destroyed.")
    tab_to(page, "Mark completed")
    page.keyboard.press("Space")
    expect(page.get_by_text("Marked completed.")).to_be_visible()
    keyboard_sign_out(page)

    keyboard_sign_in(page, live_server, executive.email)
    tab_to(page, "Actions")
    page.keyboard.press("Enter")
    page.wait_for_url("**/actions")
    tab_to(page, "1 awaiting verification")
    page.keyboard.press("Enter")
    page.wait_for_url("**status=completed*")
    tab_to(page, "Replace the frayed hoist sling")
    page.keyboard.press("Enter")
    tab_to(page, "Note")
    page.keyboard.type("Seen on the ward.")
    tab_to(page, "Verify and close")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Verified and closed.")).to_be_visible()
