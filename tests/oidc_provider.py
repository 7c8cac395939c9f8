"""A real OpenID Provider for the single sign-on tests: node-oidc-provider on a free loopback port.

`tests/oidc/provider.mjs` runs the npm package `oidc-provider` (pinned in
package.json, installed by `make vendor`). Tests register clients with Dynamic
Client Registration, say which accounts exist, and sign in at the provider's
own login page with `requests` (or a real browser in tests/e2e).
"""

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
FORM_ACTION = re.compile(r'<form[^>]*?action="([^"]+)"', re.I)
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.I)


@dataclass
class Client:
    client_id: str
    client_secret: str


class OpenIdProvider:
    def __init__(self, process: subprocess.Popen, issuer: str):
        self.process, self.issuer = process, issuer

    def _post(self, path: str, body: dict) -> dict:
        response = requests.post(f"{self.issuer}{path}", json=body, timeout=10)
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def register(self, base_url: str) -> Client:
        """A confidential client for Walkabout at `base_url` (Dynamic Client Registration, RFC 7591)."""
        answer = self._post(
            "/reg",
            {
                "redirect_uris": [f"{base_url}/login/sso/callback"],
                "post_logout_redirect_uris": [f"{base_url}/login"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        return Client(answer["client_id"], answer["client_secret"])

    def accounts(self, accounts: dict[str, dict]) -> None:
        """The provider's accounts, by subject: {"sub": {"email", "email_verified", "name", "tid"}}."""
        self._post("/__test__/accounts", accounts)

    def tamper_next_token(self, how: str) -> None:
        self._post("/__test__/next-token", {"tamper": how})

    def sign_in(self, authorize_url: str, login: str, browser: requests.Session | None = None) -> str:
        """Sign in as `login` at the provider's own login page; the URL it sends the browser back to."""
        browser = browser or requests.Session()
        url = authorize_url
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(self.issuer):
                    return url  # back to the client (Walkabout's callback)
                continue
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
            action = FORM_ACTION.search(response.text)
            assert action, f"no form at {url}: {response.text[:300]}"
            fields = dict(HIDDEN_INPUT.findall(response.text))
            answer = browser.post(
                urljoin(url, unescape(action.group(1))),
                data={**fields, "login": login, "password": "any"},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code in (302, 303), f"login: {answer.status_code} {answer.text[:300]}"
            url = urljoin(url, answer.headers["Location"])
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider never sent the browser back")

    def confirm_sign_out(self, end_session_url: str, browser: requests.Session) -> str:
        """Follow the end-session link and confirm on the provider's page; where it sends the browser."""
        page = browser.get(end_session_url, timeout=10)
        assert page.status_code == 200, page.text[:300]
        action = FORM_ACTION.search(page.text)
        assert action, page.text[:300]
        fields = dict(HIDDEN_INPUT.findall(page.text))
        answer = browser.post(
            urljoin(page.url, unescape(action.group(1))),
            data={**fields, "logout": "yes"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code in (302, 303), f"{answer.status_code} {answer.text[:300]}"
        return answer.headers["Location"]


def start_provider() -> OpenIdProvider:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the single sign-on tests run the OpenID Provider with Node.")
    if not PACKAGE.is_file():
        pytest.fail(f"{PACKAGE} is missing: run `make vendor` (npm ci installs the pinned oidc-provider).")
    process = subprocess.Popen(
        [node, str(SCRIPT)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    timer = threading.Timer(20, process.kill)
    timer.start()
    line = process.stdout.readline()
    timer.cancel()
    if not line.startswith("READY "):
        process.kill()
        pytest.fail(f"the OpenID Provider did not start: {line!r} {process.stderr.read()[:2000]}")
    # Its warnings (development adapter, Node version) would fill the pipe: keep reading it.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return OpenIdProvider(process, line.split()[1])


@pytest.fixture(scope="session")
def openid_provider():
    provider = start_provider()
    yield provider
    provider.process.terminate()
    try:
        provider.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        provider.process.kill()
