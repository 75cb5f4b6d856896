"""Fetching an image from a link (a picture dragged out of a browser, a pasted URL, the command line).

Plain ``urllib`` (no extra dependency), with what a desktop app needs around it: a size limit (a link
to a 2 GB video must not fill the memory), a time limit for the whole download (not only per read),
progress through a callback, a cancel flag, and one-line messages a person understands: offline, the
server said no (404...), too slow, too big, or not an image (an HTML page, which is what most
"image" links from search results really are).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_BYTES = 50 * 1024 * 1024
"""Largest download accepted: a 50 MB image is already a 100-megapixel photo or a big PNG."""
TIMEOUT_S = 20.0
"""Whole-download time limit (connecting, waiting, reading); also the limit for each network wait."""
CHUNK = 64 * 1024
USER_AGENT = "photosim/0.1 (photo similarity search)"

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None when the server does not say)."""

# The first bytes of every format images.py decodes (and of the common web ones).
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"), (0, b"GIF89a"),
    (0, b"BM"),
    (0, b"II*\x00"), (0, b"MM\x00*"),  # TIFF
    (8, b"WEBP"),
    (4, b"ftyp"),  # HEIC / HEIF / AVIF (ISO base media)
)


class FetchError(Exception):
    """The link could not be turned into an image; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    content_type: str


def is_url(text: str) -> bool:
    """Does ``text`` look like an http(s) link (what the command line and a paste should fetch)?"""
    return text.strip().lower().startswith(("http://", "https://"))


def looks_like_image(head: bytes) -> bool:
    return any(head[offset : offset + len(sig)] == sig for offset, sig in _SIGNATURES)


def fetch_image(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_S,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Fetched:
    """Download the image at ``url``; raise :class:`FetchError` with a clear message otherwise."""
    url = url.strip()
    if not is_url(url):
        raise FetchError(f"not a web link (http:// or https://): {url}")
    deadline = time.monotonic() + timeout
    # The network modules are imported here: every search checks is_url, few fetch (urllib and ssl
    # cost a command-line search about 50 ms to import).
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.5"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"the server answered {exc.code} {exc.reason or ''}".rstrip() + f" for {url}") from None
    except urllib.error.URLError as exc:
        raise FetchError(_network_message(exc.reason, url)) from None
    except TimeoutError:
        raise FetchError(f"no answer within {timeout:.0f} s from {url}") from None
    except (ValueError, OSError) as exc:
        raise FetchError(_network_message(exc, url)) from None
    with response:
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        length_header = response.headers.get("Content-Length")
        total = int(length_header) if length_header and length_header.isdigit() else None
        if total is not None and total > max_bytes:
            raise FetchError(f"the file is too large ({total / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB): {url}")
        if content_type.startswith(("text/", "application/json", "application/xhtml")):
            raise FetchError(f"the link is a web page ({content_type}), not an image: {url}")
        chunks: list[bytes] = []
        received = 0
        if progress is not None:
            progress(0, total)
        while True:
            if cancel is not None and cancel.is_set():
                raise FetchError("download cancelled")
            if time.monotonic() > deadline:
                raise FetchError(f"the download took longer than {timeout:.0f} s: {url}")
            try:
                chunk = response.read1(CHUNK)  # what has arrived: the deadline is checked between reads
            except TimeoutError:
                raise FetchError(f"the download took longer than {timeout:.0f} s: {url}") from None
            except OSError as exc:
                raise FetchError(f"the download broke off ({exc}): {url}") from None
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise FetchError(f"the file is too large (over {max_bytes / 1e6:.0f} MB): {url}")
            chunks.append(chunk)
            if progress is not None:
                progress(received, total)
    data = b"".join(chunks)
    if not data:
        raise FetchError(f"the link gave an empty file: {url}")
    if not looks_like_image(data[:16]):
        kind = "a web page" if data.lstrip()[:1] == b"<" else f"not an image ({content_type or 'unknown type'})"
        raise FetchError(f"the link is {kind}, not an image: {url}" if kind == "a web page" else f"the link is {kind}: {url}")
    return Fetched(url, data, content_type)


def _network_message(reason: object, url: str) -> str:
    import socket
    import ssl

    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer in time from {url}"
    if isinstance(reason, socket.gaierror):
        return f"cannot reach {url}: no network, or the host name is unknown (offline?)"
    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {url}: the connection was refused"
    if isinstance(reason, ssl.SSLError):
        return f"cannot open a secure connection to {url} ({reason.reason or reason})"
    if isinstance(reason, OSError) and getattr(reason, "errno", None) in (101, 113, 65):  # unreachable
        return f"cannot reach {url}: the network is unreachable (offline?)"
    return f"cannot fetch {url}: {reason}"
