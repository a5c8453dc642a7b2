"""The HTTP client of ``lesionseg serve`` (docs/serve.md), with the standard library only.

Every failure becomes a ``ServerError`` whose message is one line for the viewer's status bar:
the server's own ``detail`` when it answered, or what went wrong on the way (refused, timed
out). No Qt here: the widget calls these from worker threads.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

#: a first segmentation on a large CT on 2 CPU cores takes seconds; the upload of a 300 MB
#: volume too. A request that hangs longer than this is reported, not waited for.
TIMEOUT_S = 120.0


class ServerError(Exception):
    """A request that did not succeed; ``str()`` is one line, ``status`` the HTTP status (None
    when the server could not be reached)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class ServerClient:
    url: str = "http://127.0.0.1:8765"
    token: str | None = None
    timeout_s: float = TIMEOUT_S

    def health(self, timeout_s: float | None = None) -> dict:
        return self._call("GET", "/health", timeout_s=timeout_s)

    def create_session(self, image_bytes: bytes, filename: str, modality: str | None = None
                       ) -> dict:
        query = {"filename": filename} | ({"modality": modality} if modality else {})
        return self._call("POST", "/sessions?" + urllib.parse.urlencode(query), image_bytes)

    def delete_session(self, sid: str) -> None:
        self._call("DELETE", f"/sessions/{_quote(sid)}")

    def new_lesion(self, sid: str, name: str | None = None) -> dict:
        return self._call("POST", f"/sessions/{_quote(sid)}/lesions", {"name": name})

    def prompt(self, sid: str, lid: int, body: dict) -> dict:
        return self._call("POST", f"{_lesion(sid, lid)}/prompts", body)

    def undo(self, sid: str, lid: int) -> dict:
        return self._call("POST", f"{_lesion(sid, lid)}/undo")

    def reset(self, sid: str, lid: int) -> dict:
        return self._call("POST", f"{_lesion(sid, lid)}/reset")

    def _call(self, method: str, path: str, body: bytes | dict | None = None,
              timeout_s: float | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            headers["Content-Type"] = "application/octet-stream"
        request = urllib.request.Request(self.url.rstrip("/") + path, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            raise ServerError(f"server: {_detail(exc)}", exc.code) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerError(f"no lesionseg server at {self.url} ({reason})") from None
        except (socket.timeout, TimeoutError):
            raise ServerError(f"the server at {self.url} did not answer within "
                              f"{timeout_s or self.timeout_s:.0f} s") from None
        return json.loads(raw) if raw else {}


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read() or b"{}").get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail.splitlines()[0]
    return f"HTTP {exc.code} {exc.reason}"


def _quote(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def _lesion(sid: str, lid: int) -> str:
    return f"/sessions/{_quote(sid)}/lesions/{int(lid)}"
