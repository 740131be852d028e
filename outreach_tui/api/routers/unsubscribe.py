"""One-click unsubscribe (RFC 8058), no token: the link's signature is the authority.

GET shows a small page with a button and changes nothing (link scanners and prefetchers
follow links). POST with the body `List-Unsubscribe=One-Click` (what a mail client sends for
the List-Unsubscribe-Post header, and what the page's button sends) unsubscribes at once.
A link that is not ours (altered, forged, or signed with another key) is a 404."""

from __future__ import annotations

import html
import logging
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from outreach_tui.api.routers.deps import engine
from outreach_tui.core.unsubscribe_token import MAX_TOKEN_LENGTH
from outreach_tui.engine import Engine

log = logging.getLogger("outreach_tui.api")
router = APIRouter(tags=["unsubscribe"])
Token = Annotated[str, Path(min_length=3, max_length=MAX_TOKEN_LENGTH)]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em}}
button{{font-size:1.1em;padding:.5em 1.2em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""
_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    content = _PAGE.format(title=html.escape(title), body=body)
    return HTMLResponse(content, status_code=status, headers=_HEADERS)


def _not_ours() -> HTMLResponse:
    return _page("Link not recognised", "<p>This unsubscribe link is not valid.</p>", 404)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse,
            responses={404: {"description": "Not a link of ours."}})  # fmt: skip
def unsubscribe_page(token: Token, eng: Annotated[Engine, Depends(engine)]) -> HTMLResponse:
    """A confirmation page with a button; nothing changes until it is pressed."""
    claim = eng.automation.unsubscribe_claim(token)
    if claim is None:
        return _not_ours()
    address = html.escape(claim.email)
    form = (
        f"<p>Stop all mail to <strong>{address}</strong>?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", form)


@router.post(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses={
        400: {"description": "The body is not List-Unsubscribe=One-Click."},
        404: {"description": "Not a link of ours."},
    },
)
async def unsubscribe(
    token: Token, request: Request, eng: Annotated[Engine, Depends(engine)]
) -> HTMLResponse:
    """RFC 8058 one-click: the body `List-Unsubscribe=One-Click`
    (application/x-www-form-urlencoded or multipart) unsubscribes at once (audited)."""
    body = (await request.body())[:4096].decode("utf-8", "replace")
    fields = parse_qs(body) if "=" in body else {}
    if "One-Click" not in fields.get("List-Unsubscribe", []) and "One-Click" not in body:
        return _page("Unsubscribe", "<p>Use the button on the unsubscribe page.</p>", 400)
    automation = eng.automation
    claim = await run_in_threadpool(automation.unsubscribe_claim, token)
    if claim is None:
        log.warning("one-click unsubscribe with a token that is not ours refused")
        return _not_ours()
    await run_in_threadpool(automation.honour_unsubscribe, claim)
    address = html.escape(claim.email)
    return _page(
        "Unsubscribed", f"<p><strong>{address}</strong> will get no more mail from us.</p>"
    )
