"""The IMAP poller: every mailbox with an IMAP server, one folder each, by UID.

One cycle per mailbox: connect (pinned TLS), EXAMINE the folder (read-only), compare its
UIDVALIDITY with the stored cursor, fetch at most `IMAP_FETCH_LIMIT` messages above the
cursor's last UID, then apply them a batch per write transaction: the reply rows, their
effects, their audit rows and the cursor's advance past the batch (engine/inbox/applier.py).
A crash at any point re-reads from the first message whose transaction did not commit, and
the reply's unique location (plus the Message-ID check in engine/inbox/storing.py) makes a
second application impossible.

A new UIDVALIDITY (the server rebuilt the folder) resets the cursor to 0 under the new
value and writes an event; the re-scan finds every message already applied by its
Message-ID (or digest) and applies nothing twice.

A mailbox whose server is down, refuses the login, fails TLS or answers what the protocol
does not allow (mail/imap.py) costs its cycle only, as does any other failure of its cycle:
the error is logged, an `imap_error` event tells the operator (once per failing streak), and
the next cycle tries again (an `imap_recovered` event closes the streak).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from outreach_tui.config import Settings
from outreach_tui.core.errors import ConfigError
from outreach_tui.db.records import MailboxRecord
from outreach_tui.db.repos.attempts_inbox import recipients_sent_since
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.mailboxes import imap_mailboxes
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.applier import BatchApplier
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

    def __call__(
        self,
        raw: bytes,
        *,
        fallback_date: date | None = None,
        sent_recipients: Collection[str] = (),
    ) -> InboundAnalysis: ...


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


def endpoint_for(mailbox: MailboxRecord, settings: Settings) -> ImapEndpoint:
    port = int(mailbox.imap_port or 993)
    label = f"{mailbox.email} (IMAP {mailbox.imap_host}:{port})"
    return ImapEndpoint(
        host=mailbox.imap_host or "",  # only mailboxes with an IMAP server get here
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


class Poller:
    def __init__(
        self,
        ctx: EngineContext,
        *,
        applier: BatchApplier,
        analyser: Analyser,
        client_factory: ClientFactory,
    ) -> None:
        self.db = ctx.db
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.applier = applier
        self.analyse = analyser
        self.client_factory = client_factory
        self._failing: set[int] = set()
        self._classifier: LlmClassifier | None = None

    async def poll_all(self) -> PollReport:
        """One cycle over every mailbox with an IMAP server (one after another: a mailbox's
        failure never stops the others)."""
        with self.db.read() as conn:
            boxes = imap_mailboxes(conn)
        report = PollReport()
        for box in boxes:
            report.mailboxes.append(await self.poll_mailbox(box))
        return report

    async def poll_mailbox(self, box: MailboxRecord) -> MailboxPoll:
        result = MailboxPoll(box.email)
        folder = self.settings.replies.folder
        model = self._model_round()
        try:
            async with self.client_factory(endpoint_for(box, self.settings)) as imap:
                state = await imap.examine(folder)
                last_uid, result.uidvalidity_changed = await asyncio.to_thread(
                    self.applier.cursor, box.id, box.email, state
                )
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
        except Exception as exc:
            # Whatever else went wrong (a bug, an answer nobody foresaw) costs this mailbox's
            # cycle only: the mailboxes after it are still read.
            log.exception("IMAP poll of %s failed", box.email)
            result.error = f"internal error ({type(exc).__name__}); see the log"
            await asyncio.to_thread(self._record_failure, box, result.error)
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
                analyses = await asyncio.to_thread(self._analyse_all, batch, mailbox_id)
                if model is not None:
                    # Outside any transaction: a slow model holds no database lock.
                    analyses = await model.refine_all(analyses)
                if applying is not None:
                    await applying  # the batch before this one first: UID order
                applying = asyncio.ensure_future(
                    self._apply_batch(mailbox_id, state, batch, analyses, result)
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

    async def _apply_batch(
        self,
        mailbox_id: int,
        state: FolderState,
        batch: list[FetchedMessage],
        analyses: list[InboundAnalysis],
        result: MailboxPoll,
    ) -> None:
        applied, duplicates = await asyncio.to_thread(
            self.applier.apply_batch, mailbox_id, state, batch, analyses
        )
        result.applied += applied
        result.duplicates += duplicates

    def _analyse_all(self, batch: list[FetchedMessage], mailbox_id: int) -> list[InboundAnalysis]:
        """Each message analysed; a report naming several recipients is read again knowing
        whom this mailbox sent to lately (the parser then prefers those), read once per
        batch and only when such a report is in it."""
        out = [self._analyse(f.raw, f.internaldate) for f in batch]
        ambiguous = [i for i, a in enumerate(out) if len(a.bounced_recipients) > 1]
        if ambiguous:
            since = self.clock.now() - timedelta(days=self.settings.replies.report_match_days)
            with self.db.read() as conn:
                sent = recipients_sent_since(conn, mailbox_id, since)
            for i in ambiguous:
                out[i] = self._analyse(batch[i].raw, batch[i].internaldate, sent)
        return out

    def _analyse(
        self, raw: bytes, internaldate: datetime | None, sent: Collection[str] = ()
    ) -> InboundAnalysis:
        try:
            return self.analyse(
                raw,
                fallback_date=internaldate.date() if internaldate else None,
                sent_recipients=sent,
            )
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

    def _record_failure(self, box: MailboxRecord, error: str) -> None:
        if box.id in self._failing:
            return
        try:
            self._event(
                box,
                "imap_error",
                "warning",
                f"{box.email}: cannot read replies: {error}; retrying every cycle",
            )
        except Exception:  # the database's trouble must not stop the other mailboxes either
            log.exception("could not record the IMAP failure of %s", box.email)
            return
        self._failing.add(box.id)

    def _event(self, box: MailboxRecord, kind: str, severity: str, message: str) -> None:
        with self.db.write() as conn:
            write_event(
                conn,
                kind=kind,
                severity=severity,
                subject_type="mailbox",
                subject_id=box.id,
                message=message,
                at=self.clock.now(),
            )
