/**
 * The active persona's page settings, from the backend's GET /api/page-config: whether
 * conversations are recorded (the page says so before the microphone opens), the starting
 * talk mode, the avatar mode, and the dashboard's address; and whether the backend
 * refuses this page's site. Pure helpers plus fetches.
 */

const FETCH_TIMEOUT_MS = 3000;

/** The API's avatar modes, by the page's names for them. */
const AVATAR_MODES = Object.freeze({ __proto__: null, drawn: 'drawn', clips: 'video', video: 'video', native: 'native' });

/**
 * @typedef {object} PageConfig
 * @property {boolean} recording
 * @property {boolean} pushToTalk
 * @property {'drawn'|'video'|'native'} avatarMode 'video': the persona's clips ("clips"
 *   in the API; "video" before the native avatar came)
 * @property {string} dashboardUrl '' when the backend names none
 * @property {boolean} guestsAllowed a visitor without an account may talk (sign-in off, or
 *   the backend's AUTH_ALLOW_ANONYMOUS); true when the backend does not say
 */

/**
 * Check the endpoint's body; null if it is not what the backend sends.
 * @param {unknown} body
 * @returns {Readonly<PageConfig>|null}
 */
export function parsePageConfig(body) {
  if (!body || typeof body !== 'object') return null;
  const b = /** @type {Record<string, unknown>} */ (body);
  if (typeof b.recording !== 'boolean' || typeof b.push_to_talk !== 'boolean') return null;
  const mode = AVATAR_MODES[/** @type {string} */ (b.avatar_mode)];
  if (typeof b.avatar_mode !== 'string' || !mode) return null;
  const url = typeof b.dashboard_url === 'string' && /^https?:\/\//.test(b.dashboard_url) ? b.dashboard_url : '';
  return Object.freeze({
    recording: b.recording,
    pushToTalk: b.push_to_talk,
    avatarMode: mode,
    dashboardUrl: url,
    guestsAllowed: b.guests_allowed !== false,
  });
}

/**
 * Fetch the page settings from the backend at `httpBase`; null if it cannot be had in time.
 * @param {string} httpBase the backend's http(s) origin
 * @param {{fetchImpl?: typeof fetch, timeoutMs?: number}} [options]
 * @returns {Promise<Readonly<PageConfig>|null>}
 */
export async function fetchPageConfig(httpBase, { fetchImpl = globalThis.fetch, timeoutMs = FETCH_TIMEOUT_MS } = {}) {
  if (!httpBase) return null;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetchImpl(`${httpBase}/api/page-config`, { signal: abort.signal });
    return res.ok ? parsePageConfig(await res.json()) : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the backend at `httpBase` answers but refuses this page's origin: its CORS
 * answer names other sites (ALLOWED_ORIGINS), so a CORS request fails while the same
 * request without CORS (an opaque answer) succeeds. A backend that does not answer (down,
 * or slower than `timeoutMs`) is not a refusal: that is said otherwise.
 * @param {string} httpBase the backend's http(s) origin
 * @param {{fetchImpl?: typeof fetch, timeoutMs?: number}} [options]
 * @returns {Promise<boolean>}
 */
export async function originRefused(httpBase, { fetchImpl = globalThis.fetch, timeoutMs = FETCH_TIMEOUT_MS } = {}) {
  if (!httpBase) return false;
  const url = `${httpBase}/healthz`;
  const attempt = async (mode) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      await fetchImpl(url, { mode, cache: 'no-store', signal: abort.signal });
      return 'answered';
    } catch {
      return abort.signal.aborted ? 'slow' : 'failed';
    } finally {
      clearTimeout(timer);
    }
  };
  if ((await attempt('cors')) !== 'failed') return false;
  return (await attempt('no-cors')) === 'answered';
}

/**
 * The recording notice to show before the microphone opens. Not knowing (the backend did
 * not answer) shows a cautious one: a recorded conversation must never start unannounced.
 * @param {Readonly<PageConfig>|null} page
 * @returns {{show: boolean, text: string}}
 */
export function recordingNotice(page) {
  if (page === null) return { show: true, text: 'This conversation may be recorded.' };
  return page.recording
    ? { show: true, text: 'This conversation is recorded.' }
    : { show: false, text: '' };
}

/**
 * The talk mode to start in: the page's ?mode= first, then the persona's push-to-talk, then
 * the user's own last choice. The user can switch either way afterwards.
 * @param {'ptt'|'handsfree'|null} queryMode
 * @param {Readonly<PageConfig>|null} page
 * @param {'ptt'|'handsfree'} saved
 * @returns {'ptt'|'handsfree'}
 */
export function startMode(queryMode, page, saved) {
  if (queryMode) return queryMode;
  return page?.pushToTalk ? 'ptt' : saved;
}

/**
 * The avatar to show: the page's ?avatar= first, else the persona's mode.
 * @param {'auto'|'drawn'|'video'|'native'} queryAvatar 'auto' when the query names none
 * @param {Readonly<PageConfig>|null} page
 * @returns {'auto'|'drawn'|'video'|'native'}
 */
export function avatarChoice(queryAvatar, page) {
  if (queryAvatar !== 'auto') return queryAvatar;
  return page?.avatarMode ?? 'auto';
}

/**
 * Where the Dashboard link leads: ?dashboard= first, then the backend's DASHBOARD_URL,
 * then the page's own guess.
 * @param {{DASHBOARD_OVERRIDE: string|null, DASHBOARD_URL: string}} config
 * @param {Readonly<PageConfig>|null} page
 * @returns {string}
 */
export function dashboardHref(config, page) {
  return config.DASHBOARD_OVERRIDE || page?.dashboardUrl || config.DASHBOARD_URL;
}
