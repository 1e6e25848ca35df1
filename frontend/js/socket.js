/**
 * AvatarSocket: the one WebSocket to the backend (docs/API.md).
 *
 * Events (all CustomEvent, payload in `detail`):
 * - one per server message type: 'ready', 'transcript', 'interrupted', 'turn_complete',
 *   'tool', 'metrics', 'sources', 'error', 'going_away', 'pong' — detail is the parsed
 *   message;
 * - 'message' for every server JSON message (detail: the message);
 * - 'audio' for every PCM binary frame (detail: {buffer: ArrayBuffer}, 24 kHz PCM16 LE mono);
 * - 'media' for every media frame (odd length; detail: {bytes: Uint8Array}, the native
 *   avatar's fMP4);
 * - 'state' when the connection state changes (detail: {state, previous});
 * - 'reconnecting' before a retry (detail: {attempt, delayMs, code, reason}); reason
 *   'renew' (the backend closed a healthy socket on purpose, close 4000: reconnected at
 *   once, nothing to tell the user), 'going_away', 'dropped' or 'unreachable';
 * - 'closed' when the socket is closed for good (detail: {code, reason, error});
 * - 'protocol-error' for a text frame that is not a valid message (detail: {error}).
 *
 * States: 'idle' → 'connecting' → 'open' (after `ready`) → 'reconnecting' → … → 'closed'
 * (stopped by us or ended by the server) or 'failed' (fatal error, or retries exhausted).
 * What a close leads to is decided in socket-retry.js.
 */

import {
  AUDIO_FRAME_MS,
  DEFAULT_LIMITS,
  helloMessage,
  mediaPayload,
  parseServerMessage,
  playedMessage,
  ProtocolParseError,
  textMessage,
  videoFrameMessage,
} from './messages.js';
import { SocketError } from './socket-error.js';
import { socketOptions } from './socket-options.js';
import { afterClose, STABLE_SESSION_MS } from './socket-retry.js';
import { TokenRefresher } from './token-refresh.js';

export class AvatarSocket extends EventTarget {
  /**
   * @param {string} url ws:// or wss:// URL of the backend's /ws endpoint
   * @param {import('./socket-options.js').SocketOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this._opts = socketOptions(options);
    /** @type {'idle'|'connecting'|'open'|'reconnecting'|'closed'|'failed'} */
    this.state = 'idle';
    /** session id from the latest `ready`, sent back in `hello` on reconnect */
    this.sessionId = null;
    /** the latest `ready` message */
    this.readyMessage = null;
    /** limits from `ready` (protocol.Limits) */
    this.limits = { ...DEFAULT_LIMITS };
    /** mic frames dropped because the socket was backed up */
    this.droppedAudioFrames = 0;
    /** last ping round-trip time, ms */
    this.rttMs = null;
    this._ws = null;
    this._attempt = 0;
    this._timer = null;
    this._pingTimer = null;
    /** the ID token before it expires, over the open socket */
    this._refresher = new TokenRefresher({
      getToken: (force) => this._opts.getToken(force),
      send: (msg) => this._sendJson(msg),
    });
    this._helloToken = null;
    this._openTimer = null;
    this._stopped = false;
    this._fatal = null;
    this._goingAway = null;
    this._readyAt = 0;
    this._pending = []; // [{buffer, t}] mic audio waiting for `ready`
    this._startPromise = null;
    this._resolveStart = null;
    this._rejectStart = null;
  }

  /** @returns {boolean} true while a session is live (after `ready`) */
  get isOpen() {
    return this.state === 'open';
  }

  /**
   * Connect and wait for `ready` (through retries). Calling it again returns the same
   * promise.
   * @returns {Promise<object>} the `ready` message
   * @throws {SocketError} on a fatal error, when retries run out, or if stopped first
   */
  start() {
    if (this._startPromise) return this._startPromise;
    this._startPromise = new Promise((resolve, reject) => {
      this._resolveStart = resolve;
      this._rejectStart = reject;
    });
    this._startPromise.catch(() => {}); // a caller that did not await must not see an unhandled rejection
    this._connect();
    return this._startPromise;
  }

  /** Say `bye` and close (1000). Idempotent; no reconnect afterwards. */
  stop() {
    if (this._stopped) return;
    this._stopped = true;
    this._clearTimers();
    this._pending.length = 0;
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      if (ws.readyState === 1) {
        try {
          ws.send(JSON.stringify({ type: 'bye' }));
        } catch {
          /* closing anyway */
        }
      }
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    this._settleStart(new SocketError('stopped', 'Stopped before the session was ready.'));
    if (this.state !== 'failed') this._setState('closed');
  }

  /**
   * Send one mic block (16 kHz PCM16 LE, normally 640 bytes) as a binary frame.
   * Before `ready` (first connect or reconnect) up to `pendingAudioMs` is held and sent
   * on `ready`; when the socket is backed up the frame is dropped and counted.
   * @param {ArrayBuffer} buffer
   * @returns {boolean} whether the frame was sent (or held for sending)
   */
  sendAudio(buffer) {
    if (this._stopped) return false;
    const ws = this._ws;
    if (this.state !== 'open' || !ws || ws.readyState !== 1) {
      if (this.state === 'failed' || this.state === 'closed') return false;
      const now = this._opts.now();
      this._pending.push({ buffer, t: now });
      const maxFrames = Math.ceil(this._opts.pendingAudioMs / AUDIO_FRAME_MS);
      if (this._pending.length > maxFrames) this._pending.splice(0, this._pending.length - maxFrames);
      return true;
    }
    if (ws.bufferedAmount > this._opts.maxBufferedBytes) {
      this.droppedAudioFrames++;
      return false;
    }
    ws.send(buffer);
    return true;
  }

  /**
   * Send typed text (interrupts the avatar like speech).
   * @param {string} text
   * @returns {boolean} false when blank or not connected
   */
  sendText(text) {
    const msg = textMessage(text, this.limits.max_text_chars);
    return msg ? this._sendJson(msg) : false;
  }

  /**
   * Send one camera/screen frame unless it is too big or the socket is backed up.
   * @param {string} base64 image bytes, base64
   * @param {'camera'|'screen'} source
   * @param {string} [mimeType='image/jpeg']
   * @returns {boolean} whether it was sent
   */
  sendVideoFrame(base64, source, mimeType = 'image/jpeg') {
    const ws = this._ws;
    if (!ws || ws.bufferedAmount > this._opts.maxBufferedBytes) return false;
    return this._sendJson(videoFrameMessage(base64, source, mimeType));
  }

  /** Tell the backend the user's utterance ended (mic muted / push-to-talk released). */
  sendAudioEnd() {
    return this._sendJson({ type: 'audio_end' });
  }

  /**
   * Tell the backend what was heard of an answer (see messages.playedMessage).
   * @param {number} turn
   * @param {number} words
   * @param {number|null} [avOffsetMs]
   * @returns {boolean} whether it was sent
   */
  sendPlayed(turn, words, avOffsetMs = null) {
    return this._sendJson(playedMessage(turn, words, avOffsetMs));
  }

  /** @returns {boolean} true when the socket is backed up beyond `maxBufferedBytes` */
  get congested() {
    return !!this._ws && this._ws.bufferedAmount > this._opts.maxBufferedBytes;
  }

  // ---- internals ----------------------------------------------------------------------

  _sendJson(msg) {
    const ws = this._ws;
    if (this.state !== 'open' || !ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  async _connect() {
    if (this._stopped) return;
    this._setState(this._attempt === 0 && !this.sessionId ? 'connecting' : 'reconnecting');
    this._fatal = null;
    this._goingAway = null;
    let token = null;
    try {
      token = await this._opts.getToken(false);
    } catch (err) {
      this._fail(new SocketError('unauthorized', `Could not get a sign-in token: ${err?.message ?? err}`));
      return;
    }
    if (this._stopped) return;
    let ws;
    try {
      ws = new this._opts.WebSocketImpl(this.url);
    } catch (err) {
      this._fail(new SocketError('bad_url', `Cannot open ${this.url}: ${err?.message ?? err}`));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    this._helloToken = token;
    const hello = helloMessage({
      token,
      sessionId: this.sessionId,
      browserKey: this._opts.browserKey,
      voice: this._opts.voice,
    });
    this._openTimer = setTimeout(() => {
      this._openTimer = null;
      if (this._ws !== ws) return;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        /* never opened */
      }
      this._onClose(1006, 'The connection did not open in time.');
    }, this._opts.openTimeoutMs);
    ws.onopen = () => {
      clearTimeout(this._openTimer);
      this._openTimer = null;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => this._onFrame(ev.data);
    ws.onclose = (ev) => {
      if (this._ws === ws) this._onClose(ev.code, ev.reason);
    };
    ws.onerror = () => {}; // always followed by close, which carries the information
  }

  _onFrame(data) {
    if (typeof data !== 'string') {
      const media = mediaPayload(data);
      if (media) this.dispatchEvent(new CustomEvent('media', { detail: { bytes: media } }));
      else this.dispatchEvent(new CustomEvent('audio', { detail: { buffer: data } }));
      return;
    }
    let msg;
    try {
      msg = parseServerMessage(data);
    } catch (err) {
      if (!(err instanceof ProtocolParseError)) throw err;
      this.dispatchEvent(new CustomEvent('protocol-error', { detail: { error: err } }));
      return;
    }
    switch (msg.type) {
      case 'ready':
        this._onReady(msg);
        break;
      case 'error':
        if (msg.fatal) this._fatal = msg;
        break;
      case 'going_away':
        this._goingAway = msg;
        break;
      case 'pong':
        this.rttMs = Math.max(0, this._opts.now() - msg.t);
        break;
      default:
        break;
    }
    this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
  }

  _onReady(msg) {
    this.sessionId = msg.session_id;
    this.readyMessage = msg;
    this.limits = msg.limits;
    this._readyAt = this._opts.now();
    this._setState('open');
    this._flushPending();
    if (this._opts.pingIntervalMs > 0) {
      this._pingTimer = setInterval(
        () => this._sendJson({ type: 'ping', t: this._opts.now() }),
        this._opts.pingIntervalMs,
      );
    }
    this._refresher.start(this._helloToken);
    this._settleStart(null, msg);
  }

  _flushPending() {
    const oldest = this._opts.now() - this._opts.pendingAudioMs;
    const frames = this._pending;
    this._pending = [];
    for (const f of frames) if (f.t >= oldest) this.sendAudio(f.buffer);
  }

  _onClose(code, reason) {
    this._ws = null;
    this._clearTimers();
    if (this._stopped) return;
    const wasOpen = this.state === 'open';
    if (wasOpen && this._opts.now() - this._readyAt >= STABLE_SESSION_MS) this._attempt = 0;
    const next = afterClose(
      { code, reason, wasOpen, fatal: this._fatal, goingAway: this._goingAway, attempt: this._attempt },
      { ...this._opts, url: this.url },
    );
    if (next.error) {
      this._fail(next.error);
      return;
    }
    const { delayMs } = next;
    this._attempt = next.attempt;
    this._setState('reconnecting');
    this.dispatchEvent(
      new CustomEvent('reconnecting', {
        detail: {
          attempt: this._attempt,
          delayMs,
          code,
          reason: next.reason,
        },
      }),
    );
    this._timer = setTimeout(() => {
      this._timer = null;
      this._connect();
    }, delayMs);
  }

  _fail(error) {
    this._stopped = true;
    this._clearTimers();
    this._pending.length = 0;
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= 1) {
      try {
        ws.close(1000);
      } catch {
        /* ignore */
      }
    }
    this._setState(error.code === 'session_ended' ? 'closed' : 'failed');
    this.dispatchEvent(
      new CustomEvent('closed', { detail: { code: error.closeCode, reason: error.message, error } }),
    );
    this._settleStart(error);
  }

  _settleStart(error, value) {
    const resolve = this._resolveStart;
    const reject = this._rejectStart;
    this._resolveStart = this._rejectStart = null;
    if (error) reject?.(error);
    else resolve?.(value);
  }

  _clearTimers() {
    this._refresher.stop();
    if (this._timer !== null) clearTimeout(this._timer);
    if (this._pingTimer !== null) clearInterval(this._pingTimer);
    if (this._openTimer !== null) clearTimeout(this._openTimer);
    this._timer = this._pingTimer = this._openTimer = null;
  }

  _setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, previous } }));
  }
}
