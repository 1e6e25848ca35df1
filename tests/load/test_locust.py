"""A bounded locust run in the test suite: a few users for seconds, every turn answered."""

from __future__ import annotations

from tests.load.harness import load_stack, run_locust


async def test_a_short_locust_run_answers_every_turn() -> None:
    async with load_stack() as stack:
        result = await run_locust(stack, users=4, script_users=1, seconds=12, spawn_rate=4)
    assert result.exit_code == 0, result.failures or result.output[-3000:]
    assert result.failures == []
    stats = result.stats
    assert stats["connect"].requests == 4
    assert stats["echo turn"].requests >= 3
    assert stats["echo round trip"].requests > 100
    assert "script turn" in stats, result.output[-3000:]
    assert stats["script turn"].requests >= 1
    assert stats["script first audio"].requests >= 1
    assert all(s.failures == 0 for s in stats.values())
    # Both backends held their sessions while the users talked.
    assert max(s.echo_sessions or 0 for s in result.samples) == 3
    assert max(s.script_sessions or 0 for s in result.samples) == 1
