"""Mailbox choice within one planner tick: the sender of each due step, or why none may send
it now and when to look again.

A follow-up goes out from the mailbox that sent the first step (threaded); a first step
goes to rotation (`core.rotation`) over the campaign's mailboxes, asked again and again as
the tick plans steps, each pick counted at once so the next step sees the mailbox's new load.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from outreach_tui.core.days import next_day_start_utc
from outreach_tui.core.rotation import MailboxCandidate, choose_mailbox, is_eligible
from outreach_tui.core.rotation import rank as rotation_rank
from outreach_tui.core.states import MailboxPhase
from outreach_tui.engine.sending.mailbox_pool import PoolMailbox

#: How long a step that has to wait for a mailbox is put back when nobody can say when the
#: mailbox will have room again (paused, quarantined, its sending domain paused, gone): long
#: enough that waiting steps stop crowding the front of the due list every tick, short
#: enough that a mailbox the operator resumes is used again soon. A mailbox at its daily
#: limit has room again when the day turns in the operator's timezone (limits and counters
#: reset at local midnight); one cooling down, when its cooldown ends.
WAIT_FOR_MAILBOX = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Wait:
    """No mailbox may send this step now: why, and when to look again."""

    reason: str
    until: datetime


class Rotation:
    """`choose_mailbox` over one set of mailboxes, asked again and again within a tick.

    A heap ordered by rotation's rank: a mailbox's rank only grows within a tick (its
    `used_today`, the fourth key, goes up as steps are planned on it) and a mailbox at its
    limit stays there, so the top entry, once refreshed, is the mailbox `choose_mailbox`
    would pick; a pick costs O(log n) instead of ranking the whole pool for every step.
    YELLOW leads (a per-mailbox cap on top) take the plain scan.
    """

    __slots__ = ("candidates", "heap", "ids")

    def __init__(self, ids: list[int], candidates: dict[int, MailboxCandidate]) -> None:
        self.ids = ids
        self.candidates = candidates
        self.heap = [(rotation_rank(candidates[i]), i) for i in ids]
        heapq.heapify(self.heap)

    def choose(self, *, yellow: bool, yellow_cap: int) -> MailboxCandidate | None:
        candidates = self.candidates
        if yellow:
            return choose_mailbox(
                [candidates[i] for i in self.ids], yellow=True, yellow_cap=yellow_cap
            )
        heap = self.heap
        while heap:
            rank, mid = heap[0]
            candidate = candidates[mid]
            current = rotation_rank(candidate)
            if current != rank:
                heapq.heapreplace(heap, (current, mid))
            elif not is_eligible(candidate):
                heapq.heappop(heap)
            else:
                return candidate
        return None


_Group = tuple[str, ...] | None
"""A campaign's mailboxes by address; None: every mailbox."""


class MailboxChooser:
    """The senders of one tick's steps over the pool read at its start."""

    def __init__(
        self, pool: dict[int, PoolMailbox], *, yellow_cap: int, now: datetime, tz: ZoneInfo
    ) -> None:
        self.pool = pool
        self.yellow_cap = yellow_cap
        self.now = now
        self.tz = tz
        #: Each mailbox as rotation sees it, its load growing as the tick plans on it.
        self.candidates = {mid: box.candidate for mid, box in pool.items()}
        self.by_email = {box.row.email: mid for mid, box in pool.items()}
        self.rotations: dict[_Group, Rotation] = {}
        #: Within a tick, a full set of mailboxes stays full.
        self.no_room: dict[tuple[_Group, bool], Wait] = {}

    def choose(
        self, *, sticky_id: int | None, group: _Group, yellow: bool
    ) -> MailboxCandidate | Wait:
        """The sender for a step (`sticky_id`: the mailbox of the sequence's earlier steps),
        or why none may send it now and when to look again."""
        now, yellow_cap = self.now, self.yellow_cap
        if sticky_id is not None:  # follow-ups come from the same mailbox, threaded
            sticky = self.candidates.get(sticky_id)
            if sticky is None:
                return Wait("its mailbox no longer exists", now + WAIT_FOR_MAILBOX)
            chosen = choose_mailbox([sticky], yellow=yellow, yellow_cap=yellow_cap)
            if chosen is not None:
                return chosen
            return self._wait_for(self.pool[sticky.id], sticky, yellow)
        known = self.no_room.get((group, yellow))
        if known is not None:
            return known
        pool, by_email = self.pool, self.by_email
        rotation = self.rotations.get(group)
        if rotation is None:
            if group is not None:
                ids = [by_email[e] for e in group if e in by_email]
            else:
                ids = list(self.candidates)
            rotation = self.rotations[group] = Rotation(
                [i for i in ids if pool[i].blocked is None], self.candidates
            )
        chosen = rotation.choose(yellow=yellow, yellow_cap=yellow_cap)
        if chosen is not None:
            return chosen
        if group is not None:
            boxes = [pool[by_email[e]] for e in group if e in by_email]
        else:
            boxes = list(pool.values())
        waits = [self._wait_for(box, self.candidates[box.row.id], yellow) for box in boxes]
        until = min((w.until for w in waits), default=now + WAIT_FOR_MAILBOX)
        wait = self.no_room[(group, yellow)] = Wait(
            "every mailbox of the campaign is at its limit or not sending", until
        )
        return wait

    def take(self, chosen: MailboxCandidate, *, yellow: bool) -> None:
        """A step was planned on `chosen`: counted now, so the next steps of the tick see
        the mailbox's new load."""
        self.candidates[chosen.id] = replace(
            chosen,
            used_today=chosen.used_today + 1,
            yellow_today=chosen.yellow_today + (1 if yellow else 0),
        )

    def _wait_for(self, box: PoolMailbox, candidate: MailboxCandidate, yellow: bool) -> Wait:
        """Why this mailbox cannot take the step now, and when it may be able to."""
        now = self.now
        if box.blocked is not None:
            row = box.row
            cooling_only = (
                row.phase not in (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)
                and not row.domain_paused
                and row.cooldown_until is not None
                and row.cooldown_until > now
            )
            if cooling_only and row.cooldown_until is not None:
                return Wait(box.blocked, row.cooldown_until)
            return Wait(box.blocked, now + WAIT_FOR_MAILBOX)
        tomorrow = next_day_start_utc(now, self.tz)
        if candidate.used_today >= candidate.daily_limit:
            return Wait(
                f"mailbox {candidate.email} is at its daily limit "
                f"({candidate.used_today}/{candidate.daily_limit})",
                tomorrow,
            )
        if yellow and candidate.yellow_today >= self.yellow_cap:
            return Wait(
                f"mailbox {candidate.email} has taken its {self.yellow_cap} "
                "YELLOW-health leads for today",
                tomorrow,
            )
        # Not reached (choose_mailbox knows no other reason); look again soon.
        return Wait(f"mailbox {candidate.email} cannot send now", now + WAIT_FOR_MAILBOX)
