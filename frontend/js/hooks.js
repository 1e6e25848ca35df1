/**
 * `window.__liveavatar`: live state for end-to-end tests (and curious developers).
 *
 * Fields: state, connected, sessionId, lastError ({code, message} of the newest problem, or
 * null), problems (codes of every problem shown, newest first), events
 * (array of {t: performance.now() ms, type, ...fields}: every server JSON message plus
 * local milestones such as 'mic-started', 'playback-started', 'playback-stopped',
 * 'flushed', 'heard'), heard (each answer's `played` report: {turn, words, total,
 * interrupted, text, avOffsetMs}), and functions outputLevel(), mouthOpenness(),
 * underruns(), prebufferMs().
 */

const MAX_EVENTS = 5000;

/**
 * Create the hooks object and publish it on `target` (window by default).
 * @param {object} [target]
 * @returns {object} the hooks object; call `record(type, fields)` to log an event
 */
export function installHooks(target = globalThis) {
  const hooks = {
    state: 'idle',
    connected: false,
    sessionId: null,
    lastError: null,
    problems: [],
    events: [],
    heard: [],
    outputLevel: () => 0,
    mouthOpenness: () => 0,
    underruns: () => 0,
    prebufferMs: () => 0,
  };
  Object.defineProperty(hooks, 'record', {
    enumerable: false,
    value(type, fields = {}) {
      hooks.events.push({ ...fields, type, t: performance.now() });
      if (hooks.events.length > MAX_EVENTS) hooks.events.splice(0, hooks.events.length - MAX_EVENTS);
    },
  });
  target.__liveavatar = hooks;
  return hooks;
}
