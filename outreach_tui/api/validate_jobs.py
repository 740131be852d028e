"""Long /validate lists run as jobs in the API process: a task verifies the list (the
verifier's stream keeps memory flat and is polite to each host), results are kept in the
order given, and GET /validate/{job} pages through them. Finished jobs are kept up to
`[api] validate_jobs_kept` (the oldest dropped); a process restart forgets them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Jobs verifying at once; one more is refused (503) until one ends.
MAX_RUNNING = 4


@dataclass
class Job:
    id: str
    total: int
    results: list[Any | None]
    done: int = 0
    status: str = "running"
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class ValidateJobs:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.jobs: OrderedDict[str, Job] = OrderedDict()

    def running(self) -> int:
        return sum(1 for j in self.jobs.values() if j.status == "running")

    def start(self, emails: list[str], verifier_factory: Callable[[], Any]) -> Job | None:
        """A job for `emails`, or None when MAX_RUNNING already run."""
        if self.running() >= MAX_RUNNING:
            return None
        job = Job(id=uuid.uuid4().hex, total=len(emails), results=[None] * len(emails))
        job.task = asyncio.get_running_loop().create_task(self._run(job, emails, verifier_factory))
        self.jobs[job.id] = job
        self._trim()
        return job

    async def _run(self, job: Job, emails: list[str], factory: Callable[[], Any]) -> None:
        verifier = factory()
        index: dict[str, list[int]] = {}
        for n, email in enumerate(emails):
            index.setdefault(email.strip(), []).append(n)
        try:
            async for result in verifier.verify_stream(emails):
                for n in index.get(result.email, []):
                    if job.results[n] is None:
                        job.results[n] = result
                        job.done += 1
                        break
            job.status = "done"
        except Exception:
            log.exception("validate job %s failed", job.id)
            job.status = "failed"
        finally:
            await verifier.aclose()
            self._trim()

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def _trim(self) -> None:
        finished = [k for k, j in self.jobs.items() if j.status != "running"]
        for key in finished[: max(0, len(finished) - self.keep)]:
            del self.jobs[key]

    async def aclose(self) -> None:
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
