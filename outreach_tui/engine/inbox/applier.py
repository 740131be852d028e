"""The poller's database side: the folder's cursor, and what it fetched applied a batch per
transaction with the cursor moving in the same transaction.

`[replies] commit_batch` messages per transaction: all their effects and the cursor past the
last of them commit together, so a crash re-reads exactly the messages whose transaction did
not commit, and the reply's unique location (plus the Message-ID check in
engine/inbox/storing.py) makes a second application impossible. A batch that fails is redone
one message per transaction, so one bad message costs only itself; a message whose effects
cannot be applied at all is stored as it is (for the operator, and a later relabel), the
cursor moves past it, and an event says so: never dropped, never retried into a loop.

Everything here runs on worker threads (the poller calls it through `asyncio.to_thread`).
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.exc import IntegrityError

from outreach_tui.db.repos.imap_cursors import (
    advance_imap_cursor,
    create_imap_cursor,
    imap_cursor,
    reset_imap_cursor,
)
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.replies import insert_unapplied_reply
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.effects import Applied, InboundMessage, ReplyEffects
from outreach_tui.mail.imap import FetchedMessage, FolderState
from outreach_tui.mail.inbound import InboundAnalysis

log = logging.getLogger(__name__)


class BatchApplier:
    def __init__(self, ctx: EngineContext, *, effects: ReplyEffects) -> None:
        self.db = ctx.db
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.effects = effects

    def cursor(self, mailbox_id: int, mailbox_email: str, state: FolderState) -> tuple[int, bool]:
        """The last UID applied under the folder's current UIDVALIDITY (0 after a change),
        and whether the UIDVALIDITY changed (the cursor then starts again at 0, and an event
        tells the operator)."""
        now = self.clock.now()
        with self.db.write() as conn:
            cursor = imap_cursor(conn, mailbox_id, state.name)
            if cursor is None:
                create_imap_cursor(conn, mailbox_id, state.name, state.uidvalidity, now)
                return 0, False
            if cursor.uidvalidity == state.uidvalidity:
                return cursor.last_uid, False
            reset_imap_cursor(conn, mailbox_id, state.name, state.uidvalidity, now)
            write_event(
                conn,
                kind="uidvalidity_changed",
                severity="warning",
                subject_type="mailbox",
                subject_id=mailbox_id,
                at=now,
                message=f"{mailbox_email}: folder {state.name} was rebuilt on the server "
                f"(UIDVALIDITY {cursor.uidvalidity} → {state.uidvalidity}); re-reading it, "
                "replies already applied are recognised by their Message-ID",
            )
            log.warning("%s: UIDVALIDITY of %s changed; re-scanning", mailbox_email, state.name)
            return 0, True

    def apply_batch(
        self,
        mailbox_id: int,
        state: FolderState,
        batch: list[FetchedMessage],
        analyses: list[InboundAnalysis],
    ) -> tuple[int, int]:
        """Apply `batch` (in UID order), `[replies] commit_batch` messages per transaction;
        (applied, duplicates)."""
        applied_count = duplicates = 0
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
                    duplicates += 1
                else:
                    applied_count += 1
        return applied_count, duplicates

    def _apply_chunk(
        self,
        mailbox_id: int,
        state: FolderState,
        chunk: list[FetchedMessage],
        analyses: list[InboundAnalysis],
    ) -> list[Applied | None] | None:
        try:
            with self.db.write() as conn:
                now = self.clock.now()
                items = [
                    (_message(mailbox_id, state, fetched), analysis)
                    for fetched, analysis in zip(chunk, analyses, strict=True)
                ]
                out: list[Applied | None] = list(self.effects.apply_many(conn, items, now))
                # In the same transaction: the cursor moves only with the effects.
                advance_imap_cursor(
                    conn, mailbox_id, state.name, state.uidvalidity, chunk[-1].uid, now
                )
                return out
        except Exception:
            log.info("a chunk of %d messages failed; applying them one by one", len(chunk))
            return None

    def _apply_one(
        self,
        mailbox_id: int,
        state: FolderState,
        fetched: FetchedMessage,
        analysis: InboundAnalysis,
    ) -> Applied | None:
        message = _message(mailbox_id, state, fetched)
        try:
            with self.db.write() as conn:
                now = self.clock.now()
                applied = self.effects.apply(conn, message, analysis, now)
                # In the same transaction: the cursor moves only with the effects.
                advance_imap_cursor(
                    conn, mailbox_id, state.name, state.uidvalidity, fetched.uid, now
                )
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
        with self.db.write() as conn:
            now = self.clock.now()
            insert_unapplied_reply(
                conn,
                mailbox_id=message.mailbox_id,
                folder=message.folder,
                uidvalidity=message.uidvalidity,
                uid=message.uid,
                raw=message.raw,
                received_at=message.internaldate or now,
                problem=f"not applied: {error}"[:500],
                digest=hashlib.sha256(message.raw).hexdigest(),
                at=now,
            )
            advance_imap_cursor(
                conn, message.mailbox_id, message.folder, message.uidvalidity, message.uid, now
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


def _message(mailbox_id: int, state: FolderState, fetched: FetchedMessage) -> InboundMessage:
    return InboundMessage(
        mailbox_id, state.name, state.uidvalidity, fetched.uid, fetched.raw, fetched.internaldate
    )
