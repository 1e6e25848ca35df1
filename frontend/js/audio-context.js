/**
 * The page's single AudioContext: created only after a user gesture (or the test
 * `autostart` parameter), resumed without hanging, worklet modules loaded once.
 */

const loaded = new WeakMap(); // AudioContext -> Map(url -> Promise)

/** @returns {boolean} whether this browser has what the audio path needs */
export function audioSupported() {
  return (
    typeof globalThis.AudioContext === 'function' &&
    typeof globalThis.AudioWorkletNode === 'function' &&
    !!globalThis.navigator?.mediaDevices?.getUserMedia
  );
}

/**
 * Create the AudioContext at the device's default rate (44.1 or 48 kHz; the worklets
 * read `sampleRate` and never assume one).
 * @returns {AudioContext}
 */
export function createAudioContext() {
  return new AudioContext({ latencyHint: 'interactive' });
}

/**
 * Resume a suspended context, waiting at most `timeoutMs` (resume() stays pending until
 * a user gesture when autoplay is blocked).
 * @param {AudioContext} context
 * @param {number} [timeoutMs=500]
 * @returns {Promise<boolean>} true when the context is running
 */
export async function resumeContext(context, timeoutMs = 500) {
  if (context.state === 'running') return true;
  const resumed = context.resume().then(
    () => true,
    () => false,
  );
  const timeout = new Promise((r) => setTimeout(() => r(false), timeoutMs));
  await Promise.race([resumed, timeout]);
  return context.state === 'running';
}

/**
 * Load an AudioWorklet module once per context.
 * @param {BaseAudioContext} context
 * @param {string|URL} url module URL
 * @returns {Promise<void>}
 */
export function loadWorklet(context, url) {
  const key = String(url);
  let byUrl = loaded.get(context);
  if (!byUrl) loaded.set(context, (byUrl = new Map()));
  let p = byUrl.get(key);
  if (!p) {
    p = context.audioWorklet.addModule(key);
    p.catch(() => byUrl.delete(key));
    byUrl.set(key, p);
  }
  return p;
}
