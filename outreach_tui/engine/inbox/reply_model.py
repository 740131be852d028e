"""The optional model in a poll cycle: replies the rules leave as "other" are asked about.

One `ModelRound` per mailbox cycle: one HTTP client (connections reused across the
cycle's questions), at most `MODEL_CONCURRENCY` questions in flight, and one time budget
of `[replies] llm_timeout_seconds` for the whole cycle, counted from its first question.
A slow or dead endpoint therefore costs a cycle at most that long: what has no answer by
then stays "other" (the rules' verdict, applied and shown as usual) and the rest of the
cycle does not ask again. The questions are asked before the batch's transaction begins,
so a waiting model never holds a database lock.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from outreach_tui.config import RepliesSettings
from outreach_tui.core.errors import ConfigError
from outreach_tui.mail.inbound import InboundAnalysis
from outreach_tui.mail.reply_llm import LlmClassifier, refine
from outreach_tui.secrets import resolve_secret

log = logging.getLogger(__name__)

#: Questions to the model in flight at once (one mailbox's cycle).
MODEL_CONCURRENCY = 4


def classifier_from_settings(settings: RepliesSettings) -> LlmClassifier | None:
    """The classifier `[replies]` describes; None when no `llm_base_url` is set.

    A key reference that does not resolve (the default env:OPENAI_API_KEY unset, say, for a
    local model) means requests go without an Authorization header; it is logged.
    """
    if not settings.llm_base_url:
        return None
    key: str | None = None
    if settings.llm_api_key:
        try:
            key = resolve_secret(settings.llm_api_key, key="replies.llm_api_key")
        except ConfigError as exc:
            log.warning("reply classification model without a key: %s", exc)
    return LlmClassifier(
        base_url=settings.llm_base_url.rstrip("/"),
        model=settings.llm_model,
        api_key=key,
        timeout_seconds=settings.llm_timeout_seconds,
    )


def wants_model(analysis: InboundAnalysis) -> bool:
    """What `reply_llm.refine` would ask about: human text the rules called "other"."""
    return (
        analysis.kind == "other"
        and analysis.classified_by == "rules"
        and bool(analysis.text.strip())
    )


class ModelRound:
    def __init__(self, classifier: LlmClassifier) -> None:
        self.classifier = classifier
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(MODEL_CONCURRENCY)
        self._deadline: float | None = None
        self.asked = 0
        self.answered = 0

    async def refine_all(self, analyses: list[InboundAnalysis]) -> list[InboundAnalysis]:
        """`analyses`, those the model labelled replaced; never longer than the budget."""
        wanted = [i for i, analysis in enumerate(analyses) if wants_model(analysis)]
        if not wanted:
            return analyses
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self.classifier.timeout_seconds
        remaining = self._deadline - loop.time()
        if remaining <= 0:
            return analyses
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.classifier.timeout_seconds)
        tasks = {i: asyncio.ensure_future(self._ask(analyses[i])) for i in wanted}
        self.asked += len(tasks)
        done, pending = await asyncio.wait(tasks.values(), timeout=remaining)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning(
                "reply classification model: no answer within %.0f s for %d message(s); "
                "they stay 'other' and this cycle asks no more",
                self.classifier.timeout_seconds,
                len(pending),
            )
        out = list(analyses)
        for i, task in tasks.items():
            if task in done and task.exception() is None:
                out[i] = task.result()
                self.answered += out[i] is not analyses[i]
        return out

    async def _ask(self, analysis: InboundAnalysis) -> InboundAnalysis:
        async with self._slots:
            return await refine(analysis, self.classifier, client=self._client)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
