"""The page instrumentation `bench.browser_latency` installs (and the end-to-end transcript
sync test reuses): which AudioContext the app made, how far its rendered audio runs ahead
of what is heard, the spacing of animation frames, and a tap on the microphone stream that
shows when each phrase's sound reached the page."""

from __future__ import annotations

#: Bench-only instrumentation, installed before the app's scripts run. It leaves the app's
#: behaviour alone: the subclass only remembers the contexts, and the microphone tap is
#: an extra AnalyserNode on the same stream.
BENCH_SCRIPT = """
(() => {
  const contexts = [];
  const mic = { calledAt: null, resolvedAt: null, t: [], level: [] };
  // How far the rendered audio (currentTime, what the analyser sees) runs ahead of the
  // heard audio (the output timestamp), and the spacing of animation frames.
  const clock = { renderAheadMs: [], frameMs: [] };
  window.__bench = { contexts, mic, clock };
  setInterval(() => {
    const ctx = contexts[contexts.length - 1];
    if (!ctx || ctx.state !== 'running' || !ctx.getOutputTimestamp) return;
    const ts = ctx.getOutputTimestamp();
    if (!(ts.performanceTime > 0)) return;
    const heard = ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
    clock.renderAheadMs.push((ctx.currentTime - heard) * 1000);
  }, 23);
  let lastFrame = 0;
  const onFrame = (now) => {
    if (lastFrame) clock.frameMs.push(now - lastFrame);
    lastFrame = now;
    if (clock.frameMs.length < 2000) requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
  const Base = window.AudioContext;
  if (typeof Base === 'function') {
    window.AudioContext = class extends Base {
      constructor(...args) { super(...args); contexts.push(this); }
    };
  }
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => {
    mic.calledAt = performance.now();
    const stream = await gum(constraints);
    mic.resolvedAt = performance.now();
    const ctx = contexts[contexts.length - 1];
    if (ctx && constraints && constraints.audio) {
      const an = new AnalyserNode(ctx, { fftSize: 256, smoothingTimeConstant: 0 });
      new MediaStreamAudioSourceNode(ctx, { mediaStream: stream }).connect(an);
      const buf = new Float32Array(an.fftSize);
      setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let s = 0;
        for (let i = 0; i < buf.length; i++) s += buf[i] * buf[i];
        mic.t.push(performance.now());
        mic.level.push(Math.sqrt(s / buf.length));
      }, 5);
    }
    return stream;
  };
})();
"""
