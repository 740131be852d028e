"""The IMAP poller: every mailbox with an IMAP server, one folder each, by UID.

One cycle per mailbox: connect (pinned TLS), EXAMINE the folder (read-only), compare its
UIDVALIDITY with the stored cursor, fetch at most `IMAP_FETCH_LIMIT` messages above the
cursor's last UID, then for each message ONE write transaction: the reply row, its effects,
their audit rows and the cursor's advance past that UID. A crash at any point re-reads from
the first message whose transaction did not commit, and the reply's unique location (plus
the Message-ID check in `ReplyEffects`) makes a second application impossible.

A new UIDVALIDITY (the server rebuilt the folder) resets the cursor to 0 under the new
value and writes an event; the re-scan finds every message already applied by its
Message-ID (or digest) and applies nothing twice.

A mailbox whose server is down, refuses the login or fails TLS costs its cycle only: the
error is logged, an `imap_error` event tells the operator (once per failing streak), and
the next cycle tries again (an `imap_recovered` event closes the streak).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from outreach_tui.config import Settings
from outreach_tui.core.errors import ConfigError
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.session import DriverStatement, read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.inbox.effects import Applied, InboundMessage, ReplyEffects
from outreach_tui.engine.inbox.reply_model import ModelRound, classifier_from_settings
from outreach_tui.mail.imap import (
    FetchedMessage,
    FolderState,
    ImapClient,
    ImapEndpoint,
    ImapError,
)
from outreach_tui.mail.inbound import InboundAnalysis
from outreach_tui.mail.reply_llm import LlmClassifier
from outreach_tui.secrets import secret_getter

log = logging.getLogger(__name__)


class Analyser(Protocol):
    """`mail.inbound.analyse`'s shape (tests and the benchmark may pass their own)."""

    def __call__(self, raw: bytes, *, fallback_date: date | None = None) -> InboundAnalysis: ...


ClientFactory = Callable[[ImapEndpoint], ImapClient]


@dataclass
class MailboxPoll:
    mailbox: str
    fetched: int = 0
    applied: int = 0
    duplicates: int = 0
    uidvalidity_changed: bool = False
    error: str | None = None
    more: bool = False
    """More messages wait above the limit: the next cycle continues."""


@dataclass
class PollReport:
    mailboxes: list[MailboxPoll] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(m.applied for m in self.mailboxes)

    @property
    def fetched(self) -> int:
        return sum(m.fetched for m in self.mailboxes)

    @property
    def errors(self) -> list[str]:
        return [f"{m.mailbox}: {m.error}" for m in self.mailboxes if m.error]


_C = t.imap_cursor
# Prebuilt: run once per transaction of the poller.
_ADVANCE = DriverStatement(
    update(_C)
    .where(
        # (Not named after the columns: an UPDATE reserves those names for its SET clause.)
        _C.c.mailbox_id == bindparam("cursor_mailbox"),
        _C.c.folder == bindparam("cursor_folder"),
        _C.c.uidvalidity == bindparam("cursor_uidvalidity"),
        _C.c.last_uid < bindparam("uid"),
    )
    .values(last_uid=bindparam("uid"), updated_at=bindparam("updated_at"))
)


def _message(mailbox_id: int, state: FolderState, fetched: FetchedMessage) -> InboundMessage:
    return InboundMessage(
        mailbox_id, state.name, state.uidvalidity, fetched.uid, fetched.raw, fetched.internaldate
    )


def default_analyser() -> Analyser:
    from outreach_tui.mail.inbound import analyse

    return analyse


def endpoint_for(mailbox: Any, settings: Settings) -> ImapEndpoint:
    port = int(mailbox.imap_port or 993)
    label = f"{mailbox.email} (IMAP {mailbox.imap_host}:{port})"
    return ImapEndpoint(
        host=mailbox.imap_host,
        port=port,
        username=mailbox.imap_user or mailbox.smtp_user or mailbox.email,
        password=secret_getter(
            mailbox.imap_password_ref or mailbox.smtp_password_ref,
            key="imap_password",
            where=label,
        ),
        security="starttls" if mailbox.imap_security == "starttls" else "tls",
        verify_tls=bool(mailbox.verify_tls),
        ca_file=settings.tls.ca_file,
        timeout=settings.replies.imap_timeout_seconds,
        label=label,
    )


def imap_mailboxes(conn: Any) -> list[Any]:
    m = t.mailbox
    return list(
        conn.execute(
            select(m).where(m.c.imap_host.is_not(None), m.c.imap_host != "").order_by(m.c.id)
        ).all()
    )


class Poller:
    def __init__(
        self,
        db: Engine,
        settings: Settings,
        clock: Clock,
        effects: ReplyEffects,
        *,
        analyser: Analyser | None = None,
        client_factory: ClientFactory = ImapClient,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.effects = effects
        self._analyser = analyser
        self.client_factory = client_factory
        self._failing: set[int] = set()
        self._classifier: LlmClassifier | None = None

    @property
    def analyse(self) -> Analyser:
        if self._analyser is None:
            self._analyser = default_analyser()
        return self._analyser

    async def poll_all(self) -> PollReport:
        """One cycle over every mailbox with an IMAP server (one after another: a mailbox's
        failure never stops the others)."""
        with read_tx(self.db) as conn:
            boxes = imap_mailboxes(conn)
        report = PollReport()
        for box in boxes:
            report.mailboxes.append(await self.poll_mailbox(box))
        return report

    async def poll_mailbox(self, box: Any) -> MailboxPoll:
        result = MailboxPoll(box.email)
        folder = self.settings.replies.folder
        model = self._model_round()
        try:
            async with self.client_factory(endpoint_for(box, self.settings)) as imap:
                state = await imap.examine(folder)
                last_uid = await asyncio.to_thread(self._cursor, box.id, state, result)
                limit = self.settings.imap_fetch_limit
                uids = await imap.uids_after(last_uid)
                result.more = len(uids) > limit
                await self._read(imap, box.id, state, uids[:limit], result, model)
        except (ImapError, ConfigError) as exc:
            result.error = str(exc)
            detail = getattr(exc, "detail", None)
            log.warning("IMAP poll of %s failed: %s (%s)", box.email, exc, detail)
            await asyncio.to_thread(self._record_failure, box, str(exc))
            return result
        finally:
            if model is not None:
                await model.aclose()
        if box.id in self._failing:
            self._failing.discard(box.id)
            await asyncio.to_thread(
                self._event,
                box,
                "imap_recovered",
                "info",
                f"{box.email}: reading replies works again",
            )
        return result

    async def _read(
        self,
        imap: ImapClient,
        mailbox_id: int,
        state: FolderState,
        uids: list[int],
        result: MailboxPoll,
        model: ModelRound | None,
    ) -> None:
        """Fetch `uids` a commit batch at a time, as a pipeline: while batch n is applied
        (a database thread), batch n+1 is classified (another thread) and batch n+2 is
        fetched (the IMAP session's thread), so the server's, the classifier's and the
        database's time overlap. Batches are applied strictly in UID order, each in its
        own transaction with the cursor past its last message."""
        size = self.settings.replies.commit_batch
        pieces = [uids[i : i + size] for i in range(0, len(uids), size)]
        if not pieces:
            return
        fetching: asyncio.Future[list[FetchedMessage]] | None = asyncio.ensure_future(
            imap.fetch(pieces[0])
        )
        applying: asyncio.Future[None] | None = None
        try:
            for index in range(len(pieces)):
                assert fetching is not None
                batch = await fetching
                fetching = None
                if index + 1 < len(pieces):
                    fetching = asyncio.ensure_future(imap.fetch(pieces[index + 1]))
                result.fetched += len(batch)
                analyses = await asyncio.to_thread(self._analyse_all, batch)
                if model is not None:
                    # Outside any transaction: a slow model holds no database lock.
                    analyses = await model.refine_all(analyses)
                if applying is not None:
                    await applying  # the batch before this one first: UID order
                applying = asyncio.ensure_future(
                    asyncio.to_thread(self._apply_batch, mailbox_id, state, batch, analyses, result)
                )
            if applying is not None:
                await applying
                applying = None
        finally:
            # Nothing may outlive the cycle: the session is logged out after this, and the
            # caller reports what was applied.
            for pending in (fetching, applying):
                if pending is not None:
                    await asyncio.wait([pending])
                    if not pending.cancelled():
                        pending.exception()  # the error that matters was raised above

    def _model_round(self) -> ModelRound | None:
        """The optional model for one cycle, when `[replies] llm_base_url` is set."""
        if not self.settings.replies.llm_base_url:
            return None
        if self._classifier is None:
            self._classifier = classifier_from_settings(self.settings.replies)
        return ModelRound(self._classifier) if self._classifier is not None else None

    # -- database work (worker threads) --------------------------------------------------------

    def _cursor(self, mailbox_id: int, state: FolderState, result: MailboxPoll) -> int:
        """The last UID applied under the folder's current UIDVALIDITY (0 after a change)."""
        now = self.clock.now()
        c = t.imap_cursor
        with write_tx(self.db) as conn:
            row = conn.execute(
                select(c.c.uidvalidity, c.c.last_uid).where(
                    c.c.mailbox_id == mailbox_id, c.c.folder == state.name
                )
            ).first()
            if row is None:
                conn.execute(
                    c.insert().values(
                        mailbox_id=mailbox_id,
                        folder=state.name,
                        uidvalidity=state.uidvalidity,
                        last_uid=0,
                        updated_at=now,
                    )
                )
                return 0
            if int(row.uidvalidity) == state.uidvalidity:
                return int(row.last_uid)
            result.uidvalidity_changed = True
            conn.execute(
                update(c)
                .where(c.c.mailbox_id == mailbox_id, c.c.folder == state.name)
                .values(uidvalidity=state.uidvalidity, last_uid=0, updated_at=now)
            )
            write_event(
                conn,
                kind="uidvalidity_changed",
                severity="warning",
                subject_type="mailbox",
                subject_id=mailbox_id,
                at=now,
                message=f"{result.mailbox}: folder {state.name} was rebuilt on the server "
                f"(UIDVALIDITY {row.uidvalidity} → {state.uidvalidity}); re-reading it, "
                "replies already applied are recognised by their Message-ID",
            )
            log.warning("%s: UIDVALIDITY of %s changed; re-scanning", result.mailbox, state.name)
            return 0

    def _analyse_all(self, batch: list[FetchedMessage]) -> list[InboundAnalysis]:
        return [self._analyse(f.raw, f.internaldate) for f in batch]

    def _apply_batch(
        self,
        mailbox_id: int,
        state: FolderState,
        batch: list[FetchedMessage],
        analyses: list[InboundAnalysis],
        result: MailboxPoll,
    ) -> None:
        """`[replies] commit_batch` messages per transaction (all their effects and the
        cursor past the last of them commit together, so exactly-once holds); a chunk that
        fails is redone one message per transaction, so one bad message costs only itself."""
        size = self.settings.replies.commit_batch
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            chunk_analyses = analyses[start : start + size]
            outcomes: list[Applied | None] | None = None
            if len(chunk) > 1:
                outcomes = self._apply_chunk(mailbox_id, state, chunk, chunk_analyses)
            if outcomes is None:
                outcomes = [
                    self._apply_one(mailbox_id, state, fetched, analysis)
                    for fetched, analysis in zip(chunk, chunk_analyses, strict=True)
                ]
            for applied in outcomes:
                if applied is None or applied.duplicate:
                    result.duplicates += 1
                else:
                    result.applied += 1

    def _apply_chunk(
        self,
        mailbox_id: int,
        state: FolderState,
        chunk: list[FetchedMessage],
        analyses: list[InboundAnalysis],
    ) -> list[Applied | None] | None:
        try:
            with write_tx(self.db) as conn:
                now = self.clock.now()
                items = [
                    (_message(mailbox_id, state, fetched), analysis)
                    for fetched, analysis in zip(chunk, analyses, strict=True)
                ]
                out: list[Applied | None] = list(self.effects.apply_many(conn, items, now))
                # In the same transaction: the cursor moves only with the effects.
                self._advance(conn, mailbox_id, state, chunk[-1].uid, now)
                return out
        except Exception:
            log.info("a chunk of %d messages failed; applying them one by one", len(chunk))
            return None

    @staticmethod
    def _advance(conn: Any, mailbox_id: int, state: FolderState, uid: int, now: datetime) -> None:
        _ADVANCE.execute(
            conn,
            {
                "cursor_mailbox": mailbox_id,
                "cursor_folder": state.name,
                "cursor_uidvalidity": state.uidvalidity,
                "uid": uid,
                "updated_at": now,
            },
        )

    def _apply_one(
        self,
        mailbox_id: int,
        state: FolderState,
        fetched: FetchedMessage,
        analysis: InboundAnalysis,
    ) -> Applied | None:
        message = _message(mailbox_id, state, fetched)
        try:
            with write_tx(self.db) as conn:
                now = self.clock.now()
                applied = self.effects.apply(conn, message, analysis, now)
                # In the same transaction: the cursor moves only with the effects.
                self._advance(conn, mailbox_id, state, fetched.uid, now)
                return applied
        except IntegrityError:
            # Another process stored this message between our check and our insert (two
            # workers on one mailbox): it is applied once, by them.
            log.info("reply uid %s of mailbox %s applied elsewhere", fetched.uid, mailbox_id)
            return None
        except Exception as exc:  # a bug on one message must not wedge the mailbox forever
            log.exception("applying uid %s of mailbox %s failed", fetched.uid, mailbox_id)
            self._store_unapplied(message, f"{type(exc).__name__}: {exc}")
            return None

    def _store_unapplied(self, message: InboundMessage, error: str) -> None:
        """Keep the message (raw, for the operator and a later relabel), apply nothing, and
        move the cursor on: stored and shown, never dropped, never retried into a loop."""
        c = t.imap_cursor
        with write_tx(self.db) as conn:
            now = self.clock.now()
            conn.execute(
                t.reply.insert().values(
                    mailbox_id=message.mailbox_id,
                    folder=message.folder,
                    uidvalidity=message.uidvalidity,
                    uid=message.uid,
                    classification="other",
                    classified_by="rules",
                    raw=message.raw,
                    handled=False,
                    created_at=now,
                    received_at=message.internaldate or now,
                    problem=f"not applied: {error}"[:500],
                    digest=hashlib.sha256(message.raw).hexdigest(),
                )
            )
            conn.execute(
                update(c)
                .where(
                    c.c.mailbox_id == message.mailbox_id,
                    c.c.folder == message.folder,
                    c.c.uidvalidity == message.uidvalidity,
                    c.c.last_uid < message.uid,
                )
                .values(last_uid=message.uid, updated_at=now)
            )
            write_event(
                conn,
                kind="reply_unapplied",
                severity="warning",
                subject_type="mailbox",
                subject_id=message.mailbox_id,
                at=now,
                message=f"a message (UID {message.uid}) was stored but its effects could not "
                "be applied; relabel it in the Inbox",
            )

    def _analyse(self, raw: bytes, internaldate: datetime | None) -> InboundAnalysis:
        try:
            return self.analyse(raw, fallback_date=internaldate.date() if internaldate else None)
        except Exception as exc:  # the contract says never; a bug must not drop a reply
            log.exception("classifier failed on a message; stored as 'other'")
            return InboundAnalysis(
                kind="other",
                message_id=None,
                in_reply_to=None,
                references=(),
                from_email=None,
                subject=None,
                received_at=None,
                text="",
                snippet="",
                reason="classifier error",
                problem=f"{type(exc).__name__}: {exc}"[:300],
            )

    def _record_failure(self, box: Any, error: str) -> None:
        if box.id in self._failing:
            return
        self._failing.add(box.id)
        self._event(
            box,
            "imap_error",
            "warning",
            f"{box.email}: cannot read replies: {error}; retrying every cycle",
        )

    def _event(self, box: Any, kind: str, severity: str, message: str) -> None:
        with write_tx(self.db) as conn:
            write_event(
                conn,
                kind=kind,
                severity=severity,
                subject_type="mailbox",
                subject_id=box.id,
                message=message,
                at=self.clock.now(),
            )
