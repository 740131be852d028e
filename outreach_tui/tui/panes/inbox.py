"""Inbox: replies, bounces and complaints with their class, why, and what waits for review.

A report shows its class (hard bounce, soft bounce, policy refusal, complaint, delay notice,
delivered), the send of ours it was matched to (campaign, step, date) and what it did;
one that matched nothing is an "unmatched report" and did nothing (`/unmatched` lists them;
`/hard`, `/soft`, `/policy` list bounces by class).

R answers the highlighted reply (from the mailbox that received it, in its thread, through
the send pipeline); h marks it handled (or open again). SUGGEST mode (`[replies] mode`): a
suppression the classification would make waits, marked "review"; c confirms it, d
dismisses it, l relabels the reply (its effects follow). `/review` lists only those."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from outreach_tui.core.screen_text import printable
from outreach_tui.engine import (
    ConsoleEngine,
    InProcessRuntime,
    ReplyRow,
    SendOutcome,
    reply_subject,
)
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.compose_reply import ReplyScreen
from outreach_tui.tui.widgets.format import day_time, markup
from outreach_tui.tui.widgets.keyed_table import KeyedTable

#: Readable in 16 colours: people in green/yellow/red by what they said, machines dim,
#: failures red, a complaint in reverse (it pauses a mailbox).
CLASS_STYLE = {
    "interested": "b green",
    "not_interested": "yellow",
    "unsubscribe": "red",
    "wrong_person": "cyan",
    "other": "",
    "out_of_office": "dim",
    "auto_reply": "dim",
    "bounce_hard": "b red",
    "bounce_soft": "yellow",
    "complaint": "b red reverse",
}
#: The relabel choice, in the order an operator reads them.
KINDS: list[tuple[str, str]] = [
    ("interested", "interested — stop the sequence"),
    ("not_interested", "not interested — stop, suppress"),
    ("unsubscribe", "unsubscribe — stop, suppress"),
    ("out_of_office", "out of office — next step after the return"),
    ("auto_reply", "auto-reply — nothing"),
    ("wrong_person", "wrong person / referral — stop"),
    ("other", "other — stop"),
    ("bounce_hard", "hard bounce — suppress, count against the mailbox"),
    ("bounce_soft", "soft bounce — count; the Nth separate day suppresses"),
    ("complaint", "spam complaint — suppress; pauses the mailbox"),
]
#: Messages no person wrote: an answer would go to a machine (the engine refuses too).
NOBODY_TO_ANSWER = frozenset({"bounce_hard", "bounce_soft", "complaint", "auto_reply"})


#: A report's class as the operator reads it (hard / soft / policy, a delay notice...).
REPORT_LABELS = {"hard": "hard bounce", "soft": "soft bounce", "policy": "policy refusal"}


def class_label(row: ReplyRow) -> str:
    """The class the Inbox shows: a person's reply by its kind; a report by what it is."""
    if row.delivery_status == "delayed":
        return "delay notice"
    if row.delivery_status == "delivered":
        return "delivered"
    if row.bounce_class in REPORT_LABELS:
        return REPORT_LABELS[row.bounce_class]
    return row.classification or "?"


def class_style(row: ReplyRow) -> str:
    if row.report_match == "unmatched" or row.delivery_status in ("delayed", "delivered"):
        return "dim"
    if row.bounce_class == "policy":
        return "b magenta"
    return CLASS_STYLE.get(row.classification or "", "")


def matched_send(row: ReplyRow) -> str:
    """The send of ours a report was tied to, in words (empty for a person's reply)."""
    if row.report_match is None:
        return ""
    if row.report_match == "unmatched":
        return "none: unmatched report (it names no message or recipient this mailbox sent)"
    what = f"{row.campaign} step {row.step}" if row.campaign else "a one-off send"
    when = f", sent {row.sent_at:%Y-%m-%d}" if row.sent_at is not None else ""
    how = {"message_id": "by Message-ID", "recipient": "by recipient"}.get(row.report_match, "")
    return f"{what}{when}" + (f" ({how})" if how else "")


def _state(row: ReplyRow) -> Text:
    if row.review == "pending":
        return Text("review", style="b yellow")
    if row.report_match == "unmatched":
        return Text("unmatched", style="dim")
    return Text("✓") if row.handled else Text("")


class InboxPane(Pane):
    PANE_ID = "inbox"
    TITLE = "Inbox"
    SHORT = "Inbox"

    BINDINGS = [
        Binding("R", "reply", "Reply", id="inbox.reply"),
        Binding("h", "handled", "Handled", id="inbox.handled"),
        Binding("c", "confirm_review", "Confirm", id="inbox.confirm"),
        Binding("d", "dismiss_review", "Dismiss", id="inbox.dismiss"),
        Binding("l", "relabel", "Relabel", id="inbox.relabel"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, ReplyRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        # State before Subject: the long subject is cut at the right edge, not the marks.
        yield KeyedTable(["When", "From", "Class", "State", "Subject"], id="inbox-table")
        yield Static(id="inbox-preview", classes="detail")

    def load(self) -> list[ReplyRow]:
        return self.engine.queries.replies(limit=500, search=self.filter_text)

    def show(self, data: list[ReplyRow]) -> None:
        tz = self.engine.settings.tz
        self.rows = {str(r.id): r for r in data}
        self.query_one(KeyedTable).sync(
            [
                (
                    str(r.id),
                    (
                        day_time(r.received_at, tz),
                        r.from_email or "",
                        Text(class_label(r), style=class_style(r)),
                        _state(r),
                        Text(r.subject or ""),
                    ),
                )
                for r in data
            ]
        )
        self._preview()

    def _current(self) -> ReplyRow | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def _preview(self) -> None:
        row = self._current()
        self.query_one("#inbox-preview", Static).update(
            "[dim]no replies yet[/dim]" if row is None else self._preview_text(row)
        )

    @staticmethod
    def _preview_text(row: ReplyRow) -> Content:
        # Everything but our words is the sender's: filled in as plain text, one line each.
        kind = class_label(row)
        style = class_style(row) or "b"
        why = " [dim]($by: $reason)[/dim]" if row.reason else ""
        lines = ["[b]$sender[/b] → $mailbox", f"[{style}]$kind[/]{why}", "[b]$subject[/b]"]
        if row.review == "pending":
            lines.append(
                "[b yellow]review:[/] suppress $affected? "
                "[b]c[/b] confirm  [b]d[/b] dismiss  [b]l[/b] relabel"
            )
        # A report: whom it is about and the send of ours it matched, on one line.
        about = []
        pending = row.review == "pending"
        if not pending and row.affected_email and row.affected_email != row.from_email:
            about.append("[dim]about[/dim] $affected")
        if row.report_match is not None:
            about.append("[dim]matched:[/dim] $matched")
        if about:
            lines.append("  ".join(about))
        if row.effect:
            lines.append("[dim]effect:[/dim] $effect")
        if row.problem:
            lines.append("[b red]problem:[/] $problem")
        lines.append("$snippet")
        return markup(
            "\n".join(lines),
            **{
                name: printable(value)
                for name, value in (
                    ("sender", row.from_email), ("mailbox", row.mailbox), ("kind", kind),
                    ("by", row.classified_by), ("reason", row.reason), ("subject", row.subject),
                    ("affected", row.affected_email), ("problem", row.problem),
                    ("snippet", row.snippet), ("matched", matched_send(row)),
                    ("effect", row.effect),
                )
            },
        )  # fmt: skip

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._preview()

    # -- keys -----------------------------------------------------------------------------

    def action_handled(self) -> None:
        row = self._current()
        if row is not None:
            self.engine_action(
                self.engine.actions.mark_reply_handled, row.id, not row.handled, success="updated"
            )

    def action_reply(self) -> None:
        row = self._current()
        if row is None:
            return
        kind = row.classification or "other"
        if kind in NOBODY_TO_ANSWER or not row.from_email:
            # The engine refuses these as well; saying so now spares writing the answer.
            self.notify(
                f"reply {row.id} is a {kind}: nobody to answer", severity="warning", markup=False
            )
            return
        subject = reply_subject(row.subject)

        def written(body: str | None) -> None:
            if body is None:
                return
            if not body.strip():
                self.notify("the answer is empty: nothing sent", severity="warning")
                return
            self.confirm(
                f"Send this reply to {row.from_email}?",
                f"From {row.mailbox}, through the send pipeline (policy, ledger, SMTP).",
                lambda: self._send_reply(row, body),
            )

        self.app.push_screen(
            ReplyScreen(row.from_email, row.mailbox, subject, row.snippet or ""), written
        )

    def _send_reply(self, row: ReplyRow, body: str) -> None:
        engine = self.engine

        def reported(outcome: SendOutcome) -> None:
            if outcome.sent:
                self.notify(f"reply sent to {row.from_email}", markup=False)
            else:
                self.notify(
                    f"reply not sent: {outcome.message}",
                    severity="warning" if outcome.status == "blocked" else "error",
                    markup=False,
                )

        self.engine_call(lambda: engine.reply_to(row.id, body), reported)

    def _pending(self) -> ReplyRow | None:
        row = self._current()
        if row is not None and row.review != "pending":
            self.notify("nothing waits for review on this reply", severity="warning")
            return None
        return row

    def action_confirm_review(self) -> None:
        row = self._pending()
        if row is not None:
            self.confirm(
                f"Suppress {row.affected_email}?",
                f"As the {row.classification} reply suggests; nothing more is sent to them.",
                lambda: self.engine_action(
                    self.engine.confirm_suggestion, row.id, success="suppressed"
                ),
            )

    def action_dismiss_review(self) -> None:
        row = self._pending()
        if row is not None:
            self.confirm(
                f"Keep {row.affected_email} (do not suppress)?",
                f"The {row.classification} reply stays; the suggestion is dropped.",
                lambda: self.engine_action(
                    self.engine.dismiss_reply_suggestion, row.id, success="suggestion dismissed"
                ),
            )

    def action_relabel(self) -> None:
        row = self._current()
        if row is None:
            return

        def picked(kind: str) -> None:
            if kind == row.classification:
                self.notify(f"already {kind}: nothing changed")
                return
            label = dict(KINDS)[kind].split(" — ", 1)[1]
            self.confirm(
                f"Relabel the reply from {row.from_email} as {kind}?",
                f"Effects of {row.classification} are undone where they can be; then: {label}.",
                lambda: self.engine_action(
                    self.engine.relabel_reply, row.id, kind, success=f"relabelled: {kind}"
                ),
            )

        self.choose(f"What is the reply from {row.from_email}?", KINDS, row.classification, picked)
