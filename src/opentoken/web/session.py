"""Console sessions: a random id in a signed, HttpOnly, SameSite=Strict cookie; only its SHA-256 is stored.

A key holder's session names their key, which is read again on every page (a revoked or expired key ends
the session at once). An operator's session holds a fingerprint of ``OPENTOKEN_ADMIN_KEY``: changing or
unsetting that key ends every operator session. Each session has its own CSRF token, which every
state-changing form (and the playground's fetch) must send back; the sign-in form, which has no session
yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

from opentoken.stores.base import ApiKey, ConsoleSession, KeyStore, SessionRole, SessionStore

COOKIE = "ot_session"
LOGIN_COOKIE = "ot_login"
CSRF_FIELD = "csrf"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a console page."""

    session: ConsoleSession
    key: ApiKey | None = None  # the signed-in key (a key holder); None for the operator

    @property
    def is_admin(self) -> bool:
        return self.session.role == "admin"

    @property
    def csrf(self) -> str:
        return self.session.csrf


class Sessions:
    def __init__(
        self,
        store: SessionStore,
        keys: KeyStore,
        admin_key: str | None,
        secret: str | None,
        hours: float,
        secure: bool,
    ) -> None:
        self._store = store
        self._keys = keys
        self.admin_key = admin_key or None
        self._signer = Signer(secret or secrets.token_urlsafe(32), salt="opentoken-console-session")
        self._lifetime = timedelta(hours=hours)
        self._secure = secure

    def admin_fingerprint(self) -> str | None:
        return None if self.admin_key is None else "admin:" + _digest("opentoken-admin:" + self.admin_key)[:32]

    def is_admin_key(self, secret: str) -> bool:
        return self.admin_key is not None and hmac.compare_digest(secret.encode(), self.admin_key.encode())

    async def start(self, role: SessionRole, key_id: str | None) -> tuple[str, ConsoleSession]:
        """A new session; returns the cookie value (the signed random id) and the stored record."""
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = ConsoleSession(
            id_hash=_digest(session_id),
            role=role,
            key_id=self.admin_fingerprint() if role == "admin" else key_id,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + self._lifetime,
        )
        await self._store.create(session)
        if secrets.randbelow(20) == 0:  # now and then, clear expired sessions away
            await self._store.purge(now)
        return self._signer.sign(session_id).decode(), session

    def _session_id(self, request: Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            return self._signer.unsign(raw).decode()
        except BadSignature:
            return None

    async def viewer(self, request: Request) -> Viewer | None:
        session_id = self._session_id(request)
        if session_id is None:
            return None
        session = await self._store.get(_digest(session_id), datetime.now(UTC))
        if session is None:
            return None
        if session.role == "admin":
            fingerprint = self.admin_fingerprint()
            ok = fingerprint is not None and hmac.compare_digest(fingerprint, session.key_id or "")
            return Viewer(session) if ok else None
        key = None if session.key_id is None else await self._keys.get(session.key_id)
        now = datetime.now(UTC)
        if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            await self._store.delete(session.id_hash)
            return None
        return Viewer(session, key)

    async def end(self, request: Request) -> None:
        session_id = self._session_id(request)
        if session_id is not None:
            await self._store.delete(_digest(session_id))

    def secure(self, request: Request) -> bool:
        return self._secure or request.url.scheme == "https"

    def set_cookie(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self.secure(request),
        )

    def keep(self, response: Response, request: Request, cookie: str) -> None:
        self.set_cookie(response, request, COOKIE, cookie, int(self._lifetime.total_seconds()))

    def forget(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure(request))


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
