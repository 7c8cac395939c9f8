"""HTML -> PDF with WeasyPrint, fetching nothing but the app's own files.

The URL fetcher is locked down: it serves files under `static/` and photo
thumbnails named by the document (read from the database), plus inline `data:`
URLs (our SVG charts). Anything else, `file://`, `http(s)://`, other schemes,
paths outside `static/`, is refused and never read.
"""

import gc
import mimetypes
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

from ..paths import resource_dir

# Relative URLs in our PDF templates resolve against this base. The `.invalid`
# domain never resolves (RFC 2606) and the fetcher maps it to local files: no
# request ever leaves the process.
APP_HOST = "walkabout.invalid"
BASE_URL = f"http://{APP_HOST}/"
MAX_RESOURCE_BYTES = 5 * 1024 * 1024
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}
# Allocations between two young-generation collections while WeasyPrint works (Python's default
# is 700). Its boxes and styles live until the document is written and are rarely cyclic:
# collecting every 700 allocations was a fifth of the board pack's rendering (1.86 -> 1.49 s).
RENDER_GC_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_renders = 0
_gc_saved: tuple[int, int, int] | None = None


class FetchRefused(URLFetchingError):
    """The document asked for something outside the app's own static files and photos."""


class LockedFetcher(URLFetcher):
    """A WeasyPrint fetcher allowing only static files, listed photos and data: URLs."""

    def __init__(
        self,
        photo_loader: Callable[[int], bytes | None] | None = None,
        allowed_photo_ids: set[int] | frozenset[int] = frozenset(),
    ):
        # The parent only ever sees data: URLs (below); it may open nothing else.
        super().__init__(timeout=1, allowed_protocols={"data"}, allow_redirects=False)
        self.photo_loader = photo_loader
        self.allowed_photo_ids = set(allowed_photo_ids)
        self.refused: list[str] = []
        self.static_dir = resource_dir("static").resolve()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith("data:"):
            if len(url) > MAX_RESOURCE_BYTES * 2:
                self._refuse(url)
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.netloc != APP_HOST or parts.query:
            self._refuse(url)
        path = unquote(parts.path)
        if path.startswith("/static/"):
            return self._static(url, path[len("/static/") :])
        if path.startswith("/photos/") and path.endswith("/thumb.jpg"):
            ident = path[len("/photos/") : -len("/thumb.jpg")]
            if ident.isdigit() and int(ident) in self.allowed_photo_ids and self.photo_loader:
                data = self.photo_loader(int(ident))
                if data is not None and len(data) <= MAX_RESOURCE_BYTES:
                    return URLFetcherResponse(url, data, {"Content-Type": "image/jpeg"})
        self._refuse(url)

    def _static(self, url: str, relative: str) -> URLFetcherResponse:
        target = (self.static_dir / relative).resolve()
        if not target.is_relative_to(self.static_dir) or not target.is_file():
            self._refuse(url)
        if target.stat().st_size > MAX_RESOURCE_BYTES:
            self._refuse(url)
        mime_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": mime_type})

    def _refuse(self, url: str) -> NoReturn:
        self.refused.append(url[:200])
        raise FetchRefused(f"Refused to fetch {url[:80]!r}: only the app's own files are allowed.")


@contextmanager
def rare_collections() -> Iterator[None]:
    """Python's garbage collector runs rarely while this is entered (in any thread); the
    threshold before the first entry comes back when the last one leaves."""
    global _gc_renders, _gc_saved
    with _gc_lock:
        if _gc_renders == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(RENDER_GC_THRESHOLD, *_gc_saved[1:])
        _gc_renders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_renders -= 1
            if _gc_renders == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)


def pdf_stylesheet() -> CSS:
    """static/css/pdf.css, parsed once per process (and again when the file changes): parsing
    it was more than the rest of a one-page document's cost. WeasyPrint applies it with the
    "user" origin: above its own defaults, below a document's <style> (the page header's text)."""
    path = resource_dir("static").joinpath("css", "pdf.css")
    return _parsed_stylesheet(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _parsed_stylesheet(path: str, _mtime_ns: int) -> CSS:
    # Read-only while documents are rendered, so threads can share it.
    return CSS(filename=path, base_url=BASE_URL, url_fetcher=LockedFetcher())


def render_pdf(html: str, fetcher: LockedFetcher | None = None) -> bytes:
    """The PDF of `html` (tagged, PDF/UA-1) with the PDF stylesheet, fetching through `fetcher`."""
    fetcher = fetcher or LockedFetcher()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    with rare_collections():
        return document.write_pdf(stylesheets=[pdf_stylesheet()], **PDF_OPTIONS)
