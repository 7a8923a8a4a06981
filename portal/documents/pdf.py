"""HTML to PDF with WeasyPrint, fetching nothing over the network.

The page is rendered with `base_url` = the portal's root, so its links and stylesheet
resolve as in the browser; `LocalFetcher` then answers WeasyPrint's requests itself: a
file under /static/ from the static folder on disk, /store/logo from the database, and a
refusal for anything else (another path of the portal, another host, file:, data:…). No
HTTP request goes back to the portal from inside a worker (it could wait on itself), and
none leaves the machine (a link typed into a setting cannot make the server fetch it).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, request
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

from ..extensions import db
from ..identity import logo_file

LOGO_PATH = "store/logo"


class LocalFetcher(URLFetcher):
    """A URL fetcher that serves the portal's static files and the store's logo, and
    refuses every other URL (ValueError: WeasyPrint leaves the resource out).

    `logo` returns the logo's bytes and MIME type, or None (portal/identity.py `logo_file`).
    """

    def __init__(self, base_url: str, static_folder: str, static_path: str, logo: Callable):
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.base = urlsplit(base_url)
        self.static_folder = static_folder
        self.static_prefix = static_path.strip("/") + "/"
        self.logo = logo

    def fetch(self, url, headers=None):
        """The resource at `url` when it is one of ours; ValueError for anything else."""
        path = self._local_path(url)
        if path is not None and path.startswith(self.static_prefix):
            body, kind = self._static(path.removeprefix(self.static_prefix))
        elif path == LOGO_PATH:
            body, kind = self._logo()
        else:
            raise ValueError(f"not fetched (only the portal's own files are): {url[:200]}")
        return URLFetcherResponse(url, body=body, headers={"Content-Type": kind})

    def _local_path(self, url: str) -> str | None:
        """The path of `url` below the portal's root, or None if it is elsewhere."""
        parts = urlsplit(url)
        base = self.base
        if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
            return None
        root = base.path.rstrip("/") + "/"
        if not parts.path.startswith(root):
            return None
        return unquote(parts.path.removeprefix(root))

    def _static(self, name: str) -> tuple[bytes, str]:
        found = safe_join(self.static_folder, name)
        if found is None or not Path(found).is_file():
            raise ValueError(f"no such static file: {name[:200]}")
        kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
        return Path(found).read_bytes(), kind

    def _logo(self) -> tuple[bytes, str]:
        logo = self.logo()
        if not logo or not logo[0]:
            raise ValueError("the store has no logo")
        return logo


def fetcher() -> LocalFetcher:
    """The fetcher for a page of this request: the portal's root, static folder, logo."""
    return LocalFetcher(
        request.url_root,
        current_app.static_folder,
        current_app.static_url_path,
        lambda: logo_file(db.session),
    )


def render(html: str) -> bytes:
    """The PDF of `html` (a page of this request), its resources fetched locally."""
    return HTML(string=html, base_url=request.url_root, url_fetcher=fetcher()).write_pdf()
