"""Drawing one conversation: its figures, its recordings with the transcript, its turns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import streamlit as st
import streamlit.components.v1 as components

from liveavatar.media.base import MediaError
from liveavatar.store.models import ConversationSummary, TurnRecord

from .context import DashboardContext
from .heard import av_summary, heard_markdown, split_heard
from .player import cues_for, player_height, player_html
from .recordings import MAX_RECORDING_BYTES, list_recordings


def show_conversation(
    ctx: DashboardContext, conversation: ConversationSummary, turns: Sequence[TurnRecord]
) -> None:
    """The conversation's header figures, recordings and turns."""
    m = conversation.metrics
    cols = st.columns(5)
    cols[0].metric("User", conversation.user_id)
    cols[1].metric("Started (UTC)", conversation.timestamp.strftime("%Y-%m-%d %H:%M:%S"))
    cols[2].metric("Talk time", f"{conversation.duration_s:.0f} s")
    cols[3].metric("Turns", m.turns)
    cols[4].metric("Estimated cost", f"${m.cost_usd:.4f}")
    st.caption(
        f"Persona version {conversation.persona_version or '—'} · "
        f"prompt tokens {m.prompt_tokens} · response tokens {m.response_tokens} · "
        f"errors {m.errors} · interrupted turns {m.interrupted_turns}"
    )
    st.caption(av_summary(turns))
    _show_recordings(ctx, conversation, turns)
    st.subheader("Turns")
    if not turns:
        st.info("No turn of this conversation was stored.")
    for turn in turns:
        _show_turn(turn)


def _show_recordings(
    ctx: DashboardContext, conversation: ConversationSummary, turns: Sequence[TurnRecord]
) -> None:
    st.subheader("Recording")
    try:
        parts = ctx.run(list_recordings(ctx.media, conversation.id))
    except (MediaError, TimeoutError) as exc:
        st.warning(f"The recordings could not be listed: {exc}")
        return
    if not parts:
        st.caption("Not recorded (the persona's recording was off, or it was deleted).")
        return
    for i, part in enumerate(parts):
        start = part.started_at or conversation.timestamp
        end = parts[i + 1].started_at if i + 1 < len(parts) else None
        if len(parts) > 1:
            st.caption(f"Session {i + 1} of {len(parts)}, from {start:%H:%M:%S} UTC")
        if part.size > MAX_RECORDING_BYTES:
            st.warning(f"{part.name} is too large to play here ({part.size} bytes).")
            continue
        try:
            audio = ctx.run(ctx.media.get(part.name, max_bytes=MAX_RECORDING_BYTES))
        except (MediaError, TimeoutError) as exc:
            st.warning(f"{part.name} could not be read: {exc}")
            continue
        cues = cues_for(turns, start, end)
        components.html(player_html(audio, cues), height=player_height(cues), scrolling=True)


def _show_turn(turn: TurnRecord) -> None:
    with st.container(border=True):
        head = f"**Turn {turn.index}** · {turn.started_at:%H:%M:%S} UTC"
        if turn.interrupted:
            head += " · interrupted"
        st.markdown(head)
        if turn.user_text:
            st.markdown("**User:**")
            st.text(turn.user_text)
        if turn.model_text:
            _, unheard = split_heard(turn.model_text, turn.heard_text)
            if unheard:  # a barge-in or Stop cut the voice: what was never heard is struck
                st.markdown("**Avatar** (struck through: generated, not heard)**:**")
                st.markdown(heard_markdown(turn.model_text, turn.heard_text))
            else:
                st.markdown("**Avatar:**")
                st.text(turn.model_text)
        st.caption(_timings(turn) + " · " + _tokens(turn))
        if turn.tool_calls:
            st.dataframe(
                [
                    {
                        "tool": c.name,
                        "args": c.args,
                        "result": c.result,
                        "ok": c.ok,
                        "duration ms": round(c.duration_ms, 1),
                    }
                    for c in turn.tool_calls
                ],
                hide_index=True,
            )
        if turn.sources:
            st.caption("Sources: " + ", ".join(s.title or s.uri for s in turn.sources))


def _timings(turn: TurnRecord) -> str:
    ttfa = turn.time_to_first_audio_ms
    first = "no audio" if ttfa is None else f"first audio {ttfa:.0f} ms"
    took = (turn.ended_at - turn.started_at) / dt.timedelta(seconds=1)
    av = "" if turn.av_offset_ms is None else f" · A/V offset {turn.av_offset_ms:+.0f} ms"
    return f"{first} · latency {turn.turn_latency_ms:.0f} ms · {took:.1f} s{av}"


def _tokens(turn: TurnRecord) -> str:
    parts = [
        f"in audio {turn.input_audio_tokens}",
        f"in text {turn.input_text_tokens}",
        f"in video {turn.input_video_tokens}",
        f"out audio {turn.output_audio_tokens}",
        f"out text {turn.output_text_tokens}",
        f"thoughts {turn.thoughts_tokens}",
        f"${turn.cost_usd:.4f}",
    ]
    return "tokens: " + ", ".join(parts)
