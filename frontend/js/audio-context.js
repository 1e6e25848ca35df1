/**
 * The page's single AudioContext: created and resumed inside the first user gesture (iOS
 * Safari's rule: a context made or resumed outside a gesture stays silent), kept for the
 * page's life and only suspended between conversations (Safari allows a handful of
 * contexts per page), resumed without hanging, worklet modules loaded once.
 * See docs/BROWSERS.md.
 */

const loaded = new WeakMap(); // AudioContext -> Map(url -> Promise)
/** @type {AudioContext|null} */
let shared = null;

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
 * The page's one AudioContext, created on first use. Call it from a user gesture's
 * handler (before any await) the first time, and resume it there.
 * @param {() => AudioContext} [create]
 * @returns {AudioContext}
 */
export function sharedAudioContext(create = createAudioContext) {
  if (!shared || shared.state === 'closed') shared = create();
  return shared;
}

/**
 * Create and resume the shared context in the first pointer, touch or key gesture inside
 * `root` (the page's document, or the widget's shadow root: a tap elsewhere on someone
 * else's page starts no audio). Idempotent per root.
 * @param {Document|ShadowRoot|EventTarget} root
 * @param {() => AudioContext} [create]
 */
export function unlockAudioOnGesture(root, create = createAudioContext) {
  const events = ['pointerdown', 'touchend', 'keydown'];
  const unlock = () => {
    for (const type of events) root.removeEventListener(type, unlock, true);
    if (!audioSupported()) return;
    const ctx = sharedAudioContext(create);
    if (ctx.state !== 'running') ctx.resume().catch(() => {});
  };
  for (const type of events) root.addEventListener(type, unlock, true);
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
