"""The built wheel installs into a clean environment, migrates and serves the app.

The wheel is built from a clean copy of the tracked files (plus the fetched
front-end files of `make vendor`), installed with no package index from a
wheelhouse of the dependencies built once per dependency list, and served by
gunicorn in production mode from a directory outside the checkout.
"""

import hashlib
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Folders of the checkout and where the wheel carries them (see walkabout/paths.py).
MAPPED = {"walkabout": "walkabout", "templates": "walkabout/templates", "static": "walkabout/static",
          "migrations": "walkabout/migrations"}  # fmt: skip
ASSET = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"')


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def pip(python: Path | str, *args) -> None:
    run(python, "-m", "pip", "--disable-pip-version-check", "-q", *args)


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """Wheels of the app's dependencies, built once per dependency list and kept in test-artifacts/."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256("\n".join(sorted(dependencies)).encode()).hexdigest()[:12]
    house = ROOT / "test-artifacts" / f"wheelhouse-{key}"
    if not (house / ".complete").exists():
        shutil.rmtree(house, ignore_errors=True)
        pip(sys.executable, "wheel", "--wheel-dir", house, *dependencies)
        (house / ".complete").touch()
    return house


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The app's wheel, built from a clean copy of the tree (no stale build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    tracked = run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    vendor = [str(p.relative_to(ROOT)) for p in (ROOT / "static" / "vendor").rglob("*") if p.is_file()]
    assert vendor, "static/vendor/ is empty: run `make vendor` first"
    for name in filter(None, tracked + vendor):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    result = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, source)
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    return next(out.glob("walkabout-*.whl"))


def test_the_wheel_carries_every_folder_of_the_package(wheel):
    carried = {str(Path(name).parent) for name in zipfile.ZipFile(wheel).namelist()}
    missing = []
    for folder, inside in MAPPED.items():
        for directory in [ROOT / folder, *(ROOT / folder).rglob("*")]:
            files = [p for p in directory.glob("*") if p.is_file() and p.suffix not in {".pyc", ".md"}]
            if directory.is_dir() and "__pycache__" not in directory.parts and files:
                relative = directory.relative_to(ROOT / folder)
                target = inside if str(relative) == "." else f"{inside}/{relative}"
                if target not in carried:
                    missing.append(f"{directory.relative_to(ROOT)} (as {target})")
    assert not missing, "missing from the wheel (add them to [tool.setuptools] packages): " + ", ".join(
        missing
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_installed_wheel_migrates_and_serves_pages_with_local_assets_only(wheel, wheelhouse, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    pip(python, "install", "--no-compile", "--no-index", "--find-links", wheelhouse, wheel)
    instance = tmp_path / "instance"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "WALKABOUT_ENV": "production",
        "SECRET_KEY": "packaging-test-" + "k" * 40,
        "WALKABOUT_HTTPS": "0",
        "WALKABOUT_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'walkabout.db'}",
        "WALKABOUT_BASE_URL": "http://walkabout.test",
        "WALKABOUT_MAIL_FROM": "Walkabout <walkabout@walkabout.test>",
    }
    where = run(python, "-c", "import walkabout; print(walkabout.__file__)", cwd=tmp_path, env=env).stdout
    assert where.startswith(str(venv)), f"walkabout imported from {where}, not from the installed wheel"
    run(bin_dir / "flask", "--app", "walkabout", "db-upgrade", cwd=tmp_path, env=env)
    email = "packaging.check@example.org"
    created = run(bin_dir / "flask", "--app", "walkabout", "create-user", "--email", email,
                  "--name", "Packaging Check", "--role", "executive", "--generate-password",
                  cwd=tmp_path, env=env, stdin=subprocess.DEVNULL).stdout  # fmt: skip
    password = re.search(r"Password: (\S+)", created).group(1)

    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "walkabout:create_app()"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        deadline = time.monotonic() + 30
        while True:
            try:
                health = opener.open(f"{base}/healthz", timeout=5).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert b'"database": "ok"' in health or b'"database":"ok"' in health

        login = opener.open(f"{base}/login", timeout=5).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        form = {"csrf_token": token, "email": email, "password": password}
        home = opener.open(f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=10).read().decode()
        assert "Sign out" in home, "signing in with the created user did not reach the home page"

        for page in (login, home):
            assets = ASSET.findall(page)
            assert any(a.endswith(".css") for a in assets), "no stylesheet linked"
            offsite = [a for a in assets if not a.startswith("/") or a.startswith("//")]
            assert not offsite, f"pages link files from other sites: {offsite}"
            for asset in assets:
                response = opener.open(urllib.parse.urljoin(base, asset), timeout=5)
                assert response.status == 200 and response.read(), asset
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in output, output
