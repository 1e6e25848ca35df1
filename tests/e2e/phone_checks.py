"""Checks run inside the page for the phone tests: layout boxes, and spies on the
AudioContexts, microphone tracks and WebSocket frames the page creates."""

from __future__ import annotations

#: Returns {viewport, scroll sizes, small: controls under 44 px, overlaps: pairs of
#: controls whose boxes intersect, outside: visible elements past the viewport's edges}.
#: A checkbox inside its label counts as the label (the label is the target); links in
#: running text (a grounded answer's sources) are not controls.
LAYOUT_CHECK = """
() => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const name = (el) => el.dataset.testid || el.className || el.tagName.toLowerCase();
  const controls = [...document.querySelectorAll('button, a[href], input, select, textarea, label')]
    .filter(shown)
    .filter((el) => !(el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')))
    .filter((el) => !el.closest('.sources'));
  const boxes = controls.map((el) => el.getBoundingClientRect());
  const small = controls
    .map((el, i) => [name(el), Math.round(boxes[i].width), Math.round(boxes[i].height)])
    .filter(([, w, h]) => w < 44 || h < 44);
  const overlaps = [];
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (controls[i].contains(controls[j]) || controls[j].contains(controls[i])) continue;
      const across = a.left < b.right - 0.5 && b.left < a.right - 0.5;
      const cross = across && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
      if (cross) overlaps.push([name(controls[i]), name(controls[j])]);
    }
  }
  const outside = [...document.querySelectorAll('body *')]
    .filter(shown)
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.left < -0.5 || r.right > vw + 0.5;
    })
    .map(name);
  const root = document.documentElement;
  const { scrollWidth, scrollHeight } = root;
  return { vw, vh, scrollWidth, scrollHeight, small, overlaps, outside };
}
"""

#: window.__spy: every AudioContext made (contexts), every binary frame sent on a
#: WebSocket with its time (sent: performance.now() values), every microphone track.
SPY_SCRIPT = """
(() => {
  const spy = { contexts: [], sent: [], tracks: [] };
  window.__spy = spy;
  const NativeContext = window.AudioContext;
  window.AudioContext = class extends NativeContext {
    constructor(...args) { super(...args); spy.contexts.push(this); }
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data !== 'string') spy.sent.push(performance.now());
    return send.call(this, data);
  };
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => {
    const stream = await gum(constraints);
    spy.tracks.push(...stream.getAudioTracks());
    return stream;
  };
})();
"""

#: A microphone whose echo cancellation is off, as on a browser or device that has none:
#: every request for the microphone asks for it off.
NO_ECHO_CANCELLATION = """
(() => {
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (constraints) => {
    if (constraints && constraints.audio) {
      const audio = typeof constraints.audio === 'object' ? constraints.audio : {};
      constraints = { ...constraints, audio: { ...audio, echoCancellation: false } };
    }
    return gum(constraints);
  };
})();
"""
