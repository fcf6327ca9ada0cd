"""asyncio's "exception in shielded future" (3.14, CPython #156321) is noise, not a crash."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import threadcrash
from tests.otel import Otel


async def fail_later(delay: float) -> None:
    await asyncio.sleep(delay)
    raise ValueError("caught and handled by the caller")


def test_a_handled_exception_behind_a_timed_out_shield_is_not_a_crash(otel: Otel) -> None:
    """``wait_for(shield(task))`` times out, the caller handles the task's error: no report."""
    handled: list[str] = []
    seen: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context))
        task = asyncio.create_task(fail_later(0.2))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=0.05)
        try:
            await task
        except ValueError as error:
            handled.append(str(error))
        await asyncio.sleep(0.05)  # let any done callback run

    threadcrash.instrument(**otel.providers)
    asyncio.run(main())
    assert handled == ["caught and handled by the caller"]
    assert otel.spans() == []
    assert otel.total() == 0
    # where CPython hands it over (3.14 with #156321), the application's handler still gets it
    assert all(context["message"].endswith("exception in shielded future") for context in seen)


def test_the_context_shield_hands_over_is_filtered_but_still_handled(otel: Otel) -> None:
    """The context 3.14's ``shield()`` builds reaches the loop's handler but is not reported."""
    seen: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: seen.append(context["message"]))
        future = loop.create_future()
        future.set_exception(ValueError("handled elsewhere"))
        exc = future.exception()
        assert exc is not None
        loop.call_exception_handler(
            {
                "message": f"{type(exc).__name__} exception in shielded future",
                "exception": exc,
                "future": future,
            }
        )

    threadcrash.instrument(**otel.providers)
    asyncio.run(main())
    assert seen == ["ValueError exception in shielded future"]
    assert otel.spans() == []
    assert otel.total() == 0


def test_other_handler_calls_are_still_reported(otel: Otel) -> None:
    """Only the shield message is filtered: another context with the same exception is a crash."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: None)
        loop.call_exception_handler(
            {"message": "Exception in callback on_done()", "exception": ValueError("real")}
        )

    threadcrash.instrument(**otel.providers)
    asyncio.run(main())
    (span,) = otel.spans()
    assert dict(span.attributes or {})["exception.type"] == "ValueError"
    assert otel.total() == 1
