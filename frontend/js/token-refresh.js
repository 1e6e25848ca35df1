/**
 * The sign-in renewed over the open socket (docs/API.md, "Identity, quotas and limits"):
 * the backend closes a session whose ID token expired (after a grace period), so a few
 * minutes before the token sent in `hello` runs out the page asks the SDK for a fresh one
 * and sends it as `{"type": "token"}`, then does the same for that one. The token's expiry
 * is read from its own `exp` claim; nothing is verified here (the backend does that).
 */

/** How long before the expiry a fresh token is asked for (the backend allows 60 s after). */
export const REFRESH_LEAD_MS = 5 * 60_000;
/** When the SDK could not give a fresh token (offline): try again this much later. */
export const RETRY_MS = 30_000;

/**
 * A JWT's expiry (its `exp` claim) in ms since the epoch; null if it has none. Pure.
 * @param {string|null} token
 * @returns {number|null}
 */
export function tokenExpiryMs(token) {
  const payload = typeof token === 'string' ? token.split('.')[1] : undefined;
  if (!payload) return null;
  try {
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return typeof claims?.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

export class TokenRefresher {
  /**
   * @param {object} deps
   * @param {(force: boolean) => Promise<string|null>} deps.getToken the SDK's token; `force`
   *   asks for a new one even if the current one has time left
   * @param {(msg: {type: 'token', token: string}) => boolean} deps.send over the open socket
   * @param {number} [deps.leadMs]
   * @param {() => number} [deps.now]
   * @param {typeof setTimeout} [deps.setTimer]
   * @param {typeof clearTimeout} [deps.clearTimer]
   */
  constructor({
    getToken,
    send,
    leadMs = REFRESH_LEAD_MS,
    now = () => Date.now(),
    // Wrapped: a browser's setTimeout called as a method of another object throws.
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (timer) => clearTimeout(timer),
  }) {
    Object.assign(this, { _getToken: getToken, _send: send, _lead: leadMs, _now: now, _set: setTimer, _clear: clearTimer });
    this._timer = null;
    this._gen = 0;
    this._token = null;
  }

  /**
   * A session is open with `token` (the one of its `hello`; null: no sign-in, nothing to do).
   * @param {string|null} token
   */
  start(token) {
    this.stop();
    this._token = token;
    this._schedule(this._gen);
  }

  /** The session is closed (idempotent). */
  stop() {
    this._gen++;
    if (this._timer !== null) this._clear(this._timer);
    this._timer = null;
  }

  _schedule(gen, delayMs = null) {
    const expiry = tokenExpiryMs(this._token);
    if (expiry === null) return;
    const delay = delayMs ?? Math.max(0, expiry - this._lead - this._now());
    this._timer = this._set(() => this._renew(gen), delay);
  }

  async _renew(gen) {
    this._timer = null;
    let fresh = null;
    try {
      fresh = await this._getToken(true);
    } catch {
      fresh = null;
    }
    if (gen !== this._gen) return; // closed (or restarted) meanwhile
    if (fresh && fresh !== this._token && this._send({ type: 'token', token: fresh })) {
      this._token = fresh;
      this._schedule(gen);
    } else {
      this._schedule(gen, RETRY_MS);
    }
  }
}
