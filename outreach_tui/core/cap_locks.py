"""When a daily cap may be counted under a shared lock (PostgreSQL, several workers).

A send counts today's sends of each cap it is subject to, then claims its attempt, in one
transaction, under a transaction-scoped lock on the cap (db/ledger.py `lock_scopes`). An
exclusive lock makes the workers take turns for every send, although two sends far from a
cap cannot push it over together. So a cap far from full is counted under a *shared* lock:

- every transaction raises a cap's count by at most one (it claims one attempt);
- at most `concurrency` transactions are open at once (PostgreSQL's `max_connections` plus
  `max_prepared_transactions`);
- a count taken under the shared lock that leaves room for all of them (`count +
  concurrency < cap`) cannot end over the cap, whatever the others do meanwhile: the last
  count that let one of them in left room for every transaction open at that moment, and
  any later one counts them;
- closer to the cap, the exclusive lock waits for every shared holder to commit, so its
  count is exact.

Pure: the caller reads the counts and takes the locks.
"""

from __future__ import annotations


def room_for_shared_lock(count: int, cap: int, concurrency: int) -> bool:
    """True when `count` (taken under a shared lock) leaves room for one more send from each
    of `concurrency` transactions at once, so that sharing the lock cannot pass `cap`."""
    return count + concurrency < cap


def may_share(cap: int | None, concurrency: int, near: bool) -> bool:
    """Whether to try the shared lock for a cap: none to hold (`cap` None), or a cap larger
    than the database's concurrency that this worker has not seen near full today."""
    if cap is None:
        return True
    return cap > concurrency and not near
