"""A simulated browser talks to the real backend, which talks to the real emulator."""

from __future__ import annotations

import json

import httpx

from liveavatar.audio.pcm import rms
from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import browser, count, stream_speech


async def test_spoken_turn_round_trip(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        ready = log.messages("ready")[0]
        assert ready["input_sample_rate"] == 16000
        assert ready["output_sample_rate"] == 24000
        await stream_speech(ws, "what time is it")
        await log.wait_for(lambda log: count("metrics")(log) >= 1)  # sent after turn_complete
    assert log.final("user") == ["what time is it"]
    # The backend declares get_current_time, so the emulator asks for it.
    assert "time is" in log.final("model")[0]
    assert [t["status"] for t in log.messages("tool")] == ["started", "finished"]
    audio = log.audio()
    assert len(audio) > 24_000 and rms(audio) > 0.01
    (metrics,) = log.messages("metrics")
    assert metrics["time_to_first_audio_ms"] is not None
    assert metrics["total_tokens"] > 0
    # Transcript order: user partials, user final, then model text.
    roles = [(m["role"], m["final"]) for m in log.messages("transcript")]
    first_model = roles.index(("model", False))
    assert ("user", True) in roles[:first_model]


async def test_typed_text_gets_a_spoken_answer(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log.final("user") == ["tell me a joke"]
    assert "scarecrow" in log.final("model")[0]
    assert rms(log.audio()) > 0.01


async def test_barge_in_drops_queued_audio(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: len(log.audio()) > 0)
        await stream_speech(ws, "hello there")
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    kinds = [f["type"] if isinstance(f, dict) else "audio" for f in log.frames]
    cut = kinds.index("interrupted")
    # No audio of the interrupted reply arrives after `interrupted`.
    joke_turn = log.messages("interrupted")[0]["turn"]
    after = kinds[cut + 1 :]
    first_turn_end = after.index("turn_complete")
    assert "audio" not in after[:first_turn_end]
    assert joke_turn == 1
    assert "Hello! I am" in log.final("model")[-1]


async def test_tool_call_round_trip(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "what is the current time"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    tools = log.messages("tool")
    assert [t["status"] for t in tools] == ["started", "finished"]
    assert tools[0]["name"] == "get_current_time"
    answer = log.final("model")[0]
    assert "time is" in answer and ("AM" in answer or "PM" in answer)


async def test_http_endpoints(backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=backend.http_url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["live"] == "reachable"
        config = (await http.get("/api/config")).json()
        assert config["protocol_version"] == 2
        assert "key" not in json.dumps(config).lower()
        async with browser(backend.ws_url) as (ws, log):
            await ws.send(json.dumps({"type": "text", "text": "hello"}))
            await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        text = (await http.get("/metrics")).text
        assert "liveavatar_turns_total" in text
        assert "liveavatar_time_to_first_audio_seconds_bucket" in text
        cors = await http.get("/api/config", headers={"Origin": "http://localhost:8000"})
        assert cors.headers["access-control-allow-origin"] == "http://localhost:8000"


async def test_voice_choice_and_camera_frames(backend: Backend) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="JPEG")
    frame = {"type": "video_frame", "data": base64.b64encode(buf.getvalue()).decode()}
    hello = {"type": "hello", "version": 1, "voice": "kore"}
    async with browser(backend.ws_url, hello=hello) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        assert log.messages("ready")[0]["voice"] == "Kore"
        await ws.send(json.dumps(frame))
        await ws.send(json.dumps({"type": "text", "text": "what do you see"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    answer = log.final("model")[0]
    assert "64 by 48" in answer and "red" in answer


async def test_unknown_voice_is_refused(backend: Backend) -> None:
    hello = {"type": "hello", "version": 1, "voice": "Nobody"}
    async with browser(backend.ws_url, hello=hello) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.messages("error")[0]["code"] == "bad_request"
    assert log.close_code == 4400


async def test_knowledge_lookup_tool(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        text = "search the knowledge base for ports"
        await ws.send(json.dumps({"type": "text", "text": text}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    assert [t["name"] for t in log.messages("tool")] == ["lookup_knowledge"] * 2
    # A slow lookup runs NON_BLOCKING on 3.8: the avatar talks on, the answer follows.
    filler, answer = log.final("model")
    assert filler == "One moment, let me check." and "8080" in answer


async def test_resume_by_session_id_after_a_dropped_socket(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "my favourite colour is green"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        session_id = log.messages("ready")[0]["session_id"]
    hello = {"type": "hello", "version": 1, "session_id": session_id}
    async with browser(backend.ws_url, hello=hello) as (ws, log2):
        await log2.wait_for(lambda log: count("ready")(log) == 1)
        ready = log2.messages("ready")[0]
        assert ready["resumed"] is True and ready["session_id"] == session_id
        await ws.send(json.dumps({"type": "text", "text": "what did I say"}))
        await log2.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log2.final("model")[0] == "Earlier you said: my favourite colour is green."


async def test_the_sdk_client_path_works_too(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, live_client="sdk"))
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "what is the current time"}))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
        await stream_speech(ws, "what is your name")
        await log.wait_for(lambda log: count("metrics")(log) >= 2)
    assert [t["status"] for t in log.messages("tool")] == ["started", "finished"]
    assert log.final("model")[-1] == "My name is Ava."
    assert rms(log.audio()) > 0.01


async def test_what_the_page_sends_is_counted(backend: Backend) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 30, 200)).save(buf, format="JPEG")
    frame = {"type": "video_frame", "data": base64.b64encode(buf.getvalue()).decode()}
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        for _ in range(5):
            await ws.send(bytes(640))
        await ws.send(json.dumps({"type": "audio_end"}))
        await ws.send(json.dumps({**frame, "source": "screen"}))
        # A ping answered means everything sent before it was read.
        await ws.send(json.dumps({"type": "ping", "t": 1}))
        await log.wait_for(lambda log: count("pong")(log) == 1)
    async with httpx.AsyncClient(base_url=backend.http_url) as http:
        text = (await http.get("/metrics")).text
    assert "liveavatar_browser_audio_frames_total 5.0" in text
    assert "liveavatar_browser_audio_ends_total 1.0" in text
    assert 'liveavatar_video_frames_total{source="screen"} 1.0' in text
