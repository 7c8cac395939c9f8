"""Fetch the pinned htmx from the npm registry into static/vendor/ and check its SRI hash."""

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from walkabout.assets import HTMX_LOCAL, HTMX_SRI, HTMX_VERSION  # noqa: E402

target = ROOT / "static" / HTMX_LOCAL


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def main() -> None:
    if target.is_file() and sri(target.read_bytes()) == HTMX_SRI:
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"htmx.org@{HTMX_VERSION}", "--silent", "--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        archive = next(Path(tmp).glob("htmx.org-*.tgz"))
        with tarfile.open(archive) as tar:
            data = tar.extractfile("package/dist/htmx.min.js").read()
    if sri(data) != HTMX_SRI:
        sys.exit(f"htmx.org@{HTMX_VERSION} from npm does not match the pinned SRI hash; not installed.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"htmx {HTMX_VERSION} installed in {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
