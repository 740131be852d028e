"""Bearer tokens with scopes, and a rate limit per token.

Tokens are configured as secret references (`[[api.tokens]]`), resolved once when the app
starts and kept only as their SHA-256: a request's token is hashed and looked up, so the
comparison takes the same time whatever it shares with a real one. No token, or one that is
not known: 401. A known token without the scope an endpoint needs: 403. Over its rate: 429
with Retry-After (a token bucket per token: `rate_limit_burst` at once, then
`rate_limit_per_minute`). The token's name is the actor the audit log names for what it does.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from outreach_tui.config import ApiSettings
from outreach_tui.secrets import resolve_secret


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the token's name and what it may do."""

    name: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenBook:
    """The configured tokens, by the SHA-256 of their value."""

    def __init__(self, settings: ApiSettings) -> None:
        self._by_digest: dict[bytes, Caller] = {}
        for token in settings.tokens:
            value = resolve_secret(token.token, key=f"api.tokens[{token.name}].token")
            self._by_digest[_digest(value)] = Caller(token.name, frozenset(token.scopes))

    def caller(self, token: str) -> Caller | None:
        return self._by_digest.get(_digest(token))


class RateLimiter:
    """A token bucket per caller; thread-safe (sync endpoints run in a thread pool)."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> float | None:
        """None when `who` may go ahead; else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return None
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate


_bearer = HTTPBearer(auto_error=False, description="A token from [[api.tokens]].")


def require(scope: str, *also: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, if its token is known, has `scope` (or one of `also`) and is
    within its rate limit. Async (it does no I/O): a plain function would run in FastAPI's
    thread pool, a hop per request."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Caller:
        state = request.app.state.api
        caller: Caller | None = (
            state.tokens.caller(credentials.credentials) if credentials else None
        )
        if caller is None:
            raise HTTPException(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        wait = state.limiter.take(caller.name)
        if wait is not None:
            raise HTTPException(
                429,
                f"rate limit of token {caller.name!r} reached",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if not any(caller.may(s) for s in (scope, *also)):
            raise HTTPException(403, f"token {caller.name!r} lacks the {scope!r} scope")
        return caller

    return check
