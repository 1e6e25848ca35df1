/**
 * The browser <-> backend protocol (docs/API.md, src/liveavatar/protocol.py), browser side:
 * builders for outgoing JSON messages, one parser for incoming ones, close-code policy.
 * Pure; audio never goes through here (it travels as binary frames).
 */

export const PROTOCOL_VERSION = 2;
export const MEDIA_FMP4 = 0xf0; // a media frame: the fMP4 follows the kind byte
export const MEDIA_FMP4_PADDED = 0xf1; // one padding byte, then the fMP4
export const INPUT_SAMPLE_RATE = 16_000; // Hz, browser → backend
export const OUTPUT_SAMPLE_RATE = 24_000; // Hz, backend → browser
export const AUDIO_FRAME_MS = 20;
export const AUDIO_FRAME_BYTES = (INPUT_SAMPLE_RATE * AUDIO_FRAME_MS * 2) / 1000; // 640

/** Defaults matching protocol.Limits, used until `ready` brings the server's values. */
export const DEFAULT_LIMITS = Object.freeze({
  max_text_chars: 2000,
  max_video_frame_bytes: 512 * 1024,
  max_audio_frame_bytes: 32_000,
  video_fps: 1,
  audio_frame_ms: 20,
});

const str = (v) => typeof v === 'string';
const num = (v) => typeof v === 'number' && Number.isFinite(v);
const bool = (v) => typeof v === 'boolean';
const int = (v) => Number.isInteger(v);
const numOrNull = (v) => v === null || num(v);

/** Required fields (and their checks) of each server message type. */
const SERVER_SCHEMAS = {
  ready: { session_id: str },
  transcript: { role: (v) => v === 'user' || v === 'model', text: str, final: bool, turn: int },
  interrupted: { turn: int },
  turn_complete: { turn: int },
  tool: { call_id: str, name: str, status: str },
  metrics: { turn: int, time_to_first_audio_ms: numOrNull, turn_latency_ms: num },
  sources: { turn: int, sources: Array.isArray },
  error: { code: str, message: str },
  avatar_fallback: { reason: str, message: str },
  going_away: { reason: str },
  pong: { t: num },
};

/** Server message types, in the order of the API table. */
export const SERVER_MESSAGE_TYPES = Object.freeze(Object.keys(SERVER_SCHEMAS));

/** A text frame that is not a valid server message. */
export class ProtocolParseError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolParseError';
  }
}

/**
 * Parse one JSON text frame from the backend and check its shape.
 * Unknown extra fields are kept; defaults of optional fields are filled in.
 * @param {string} text
 * @returns {object} the message, with a known `type`
 * @throws {ProtocolParseError}
 */
export function parseServerMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new ProtocolParseError('frame is not JSON');
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    throw new ProtocolParseError('frame is not a JSON object');
  }
  const schema = Object.hasOwn(SERVER_SCHEMAS, msg.type) ? SERVER_SCHEMAS[msg.type] : null;
  if (!schema) throw new ProtocolParseError(`unknown message type ${JSON.stringify(msg.type)}`);
  for (const [field, check] of Object.entries(schema)) {
    if (!check(msg[field])) throw new ProtocolParseError(`${msg.type}.${field} is missing or invalid`);
  }
  switch (msg.type) {
    case 'ready':
      msg.resumed = msg.resumed === true;
      msg.input_sample_rate ??= INPUT_SAMPLE_RATE;
      msg.output_sample_rate ??= OUTPUT_SAMPLE_RATE;
      msg.avatar = normaliseAvatarMedia(msg.avatar);
      msg.limits = { ...DEFAULT_LIMITS, ...(msg.limits ?? {}) };
      break;
    case 'error':
      msg.fatal = msg.fatal === true;
      break;
    case 'sources':
      // Entries the page cannot show are dropped here; ones it can are shown as text.
      msg.sources = msg.sources.filter((s) => s !== null && typeof s === 'object' && !Array.isArray(s));
      msg.queries = Array.isArray(msg.queries) ? msg.queries.filter(str) : [];
      break;
    case 'going_away':
      msg.reconnect_after_ms = num(msg.reconnect_after_ms) ? Math.max(0, msg.reconnect_after_ms) : 0;
      break;
    default:
      break;
  }
  return msg;
}

/**
 * The media a binary frame carries, or null for audio (docs/API.md, Frames): PCM16 frames
 * are always of even length, media frames of odd length behind a kind byte.
 * @param {ArrayBuffer} buffer
 * @returns {Uint8Array|null}
 */
export function mediaPayload(buffer) {
  if (buffer.byteLength % 2 === 0) return null;
  const bytes = new Uint8Array(buffer);
  if (bytes[0] === MEDIA_FMP4) return bytes.subarray(1);
  if (bytes[0] === MEDIA_FMP4_PADDED && bytes.length >= 2) return bytes.subarray(2);
  return new Uint8Array(0); // a kind this page does not know: nothing to play
}

/**
 * Avatar clip lists, from `ready.avatar` or GET /api/videos: always three string arrays.
 * Accepts `{idle, talking, expressive}` (lists or single URLs), optionally under `videos`.
 * @param {unknown} media
 * @returns {{idle: string[], talking: string[], expressive: string[]}}
 */
export function normaliseAvatarMedia(media) {
  const src = media && typeof media === 'object' && 'videos' in media ? media.videos : media;
  const list = (v) => (Array.isArray(v) ? v.filter(str) : str(v) ? [v] : []);
  const o = src && typeof src === 'object' ? src : {};
  return { idle: list(o.idle), talking: list(o.talking), expressive: list(o.expressive) };
}

/**
 * @param {{token?: string|null, sessionId?: string|null, browserKey?: string|null, voice?: string|null}} [opts]
 * @returns {object} the `hello` message (absent options are left out)
 */
export function helloMessage({ token, sessionId, browserKey, voice } = {}) {
  const msg = { type: 'hello', version: PROTOCOL_VERSION };
  if (token) msg.token = token;
  if (sessionId) msg.session_id = sessionId;
  if (browserKey) msg.browser_key = browserKey;
  if (voice) msg.voice = voice;
  return msg;
}

/**
 * @param {string} text 1..max_text_chars characters (trimmed; longer text is cut)
 * @param {number} [maxChars]
 * @returns {object|null} the `text` message, or null for blank text
 */
export function textMessage(text, maxChars = DEFAULT_LIMITS.max_text_chars) {
  const t = String(text ?? '').trim();
  if (!t) return null;
  return { type: 'text', text: Array.from(t).slice(0, maxChars).join('') };
}

/**
 * @param {string} data base64 image bytes
 * @param {'camera'|'screen'} source
 * @param {string} [mimeType='image/jpeg']
 * @returns {object} the `video_frame` message
 */
export function videoFrameMessage(data, source, mimeType = 'image/jpeg') {
  return { type: 'video_frame', data, mime_type: mimeType, source };
}

/**
 * What the user heard of the model's answer in `turn`: the first `words` words of its
 * transcript (all of them for an answer played to its end), and the page's measured
 * audio/video offset over it (ms, + = audio ahead of the mouth), when it has one.
 * @param {number} turn
 * @param {number} words
 * @param {number|null} [avOffsetMs]
 * @returns {object} the `played` message
 */
export function playedMessage(turn, words, avOffsetMs = null) {
  const msg = { type: 'played', turn, words: Math.max(0, Math.floor(words)) };
  if (typeof avOffsetMs === 'number' && Number.isFinite(avOffsetMs)) {
    msg.av_offset_ms = Math.max(-1000, Math.min(1000, Math.round(avOffsetMs * 10) / 10));
  }
  return msg;
}

/** Size in bytes of the data a base64 string decodes to. */
export function base64DecodedBytes(b64) {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

/** Close codes after which reconnecting cannot help (docs/API.md, "Close codes"). */
export const NO_RETRY_CLOSE_CODES = Object.freeze(
  new Set([4400, 4401, 4403, 4409, 4426, 4429, 4430, 4502, 4503]),
);

/**
 * Whether to reconnect after the socket closed with `code`.
 * 1000 from the server means the session was ended on purpose; 1001 (going away), 1006
 * (unreachable, dropped), 1011, 1012, 1013 (full), 4000 (renew) and 4408 (hello timeout)
 * are retried.
 * @param {number} code WebSocket close code
 * @returns {boolean}
 */
export function shouldReconnect(code) {
  return code !== 1000 && !NO_RETRY_CLOSE_CODES.has(code);
}

/**
 * The backend ended a healthy socket on purpose: its age limit (under the platform's
 * request timeout) or a draining instance. Not a problem: resume at once, quietly.
 */
export const CLOSE_RECONNECT = 4000;

/**
 * How to answer a close (docs/API.md, "Close codes").
 * @param {number} code WebSocket close code
 * @param {{wasOpen: boolean, goingAway: boolean}} how the socket ended: whether `ready`
 *   had arrived, whether `going_away` came first
 * @returns {'now'|'after_going_away'|'backoff'|'never'} 'now': reconnect at once and tell
 *   no one; 'after_going_away': after its `reconnect_after_ms`; 'backoff': with backoff,
 *   counting attempts; 'never': the session is over
 */
export function reconnectPlan(code, { wasOpen, goingAway }) {
  if (!shouldReconnect(code)) return 'never';
  // Only a session that was running: a socket closed before `ready` is a failed attempt.
  if (code === CLOSE_RECONNECT && wasOpen) return 'now';
  if (goingAway) return 'after_going_away';
  return 'backoff';
}

/** Error codes a close code stands for when no `error` message preceded it. */
export const CLOSE_CODE_ERRORS = Object.freeze({
  1000: 'session_ended',
  1009: 'bad_request',
  1011: 'internal',
  1013: 'server_busy',
  4400: 'bad_request',
  4401: 'unauthorized',
  4403: 'forbidden',
  4408: 'bad_request',
  4409: 'session_replaced',
  4426: 'unsupported_version',
  4429: 'rate_limited',
  4430: 'quota_exceeded',
  4502: 'live_refused',
  4503: 'live_unavailable',
});
