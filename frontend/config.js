/**
 * Environment detection for the static frontend.
 *
 * - On localhost / 127.0.0.1 (development): the backend is ws://<same host>:8080/ws and
 *   the dashboard http://<same host>:8501; no sign-in.
 * - Anywhere else (production, e.g. Firebase Hosting): settings come from
 *   /deploy-config.json, written at deploy time:
 *     {"backendUrl": "wss://…/ws", "dashboardUrl": "https://…",
 *      "firebase": {"apiKey": "…", "authDomain": "…", "projectId": "…",
 *                   "authEmulatorUrl": "http://127.0.0.1:9099" (local runs, tests)} | null,
 *      "authRequired": true}
 *   If it is missing, the backend is assumed at wss://<same host>/ws.
 * - Query parameters override, for tests and debugging: ?backend=<ws url>,
 *   ?dashboard=<url>, ?mode=ptt|handsfree, ?avatar=drawn|clips|native|auto (video: clips), ?autostart=1,
 *   ?prebuffer_ms=<n>, ?voice=<name>.
 */

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * @typedef {object} AppConfig
 * @property {string} BACKEND_URL ws:// or wss:// URL of the backend's /ws endpoint
 * @property {string} BACKEND_HTTP_URL http(s):// origin of the backend (for /api/videos)
 * @property {string} DASHBOARD_URL the page's own guess (the backend's page config names it better)
 * @property {string|null} DASHBOARD_OVERRIDE ?dashboard=, which wins over the backend's
 * @property {'development'|'production'} ENVIRONMENT
 * @property {{apiKey: string, authDomain: string, projectId: string, authEmulatorUrl?: string}|null} FIREBASE
 * @property {boolean} AUTH_REQUIRED sign in before starting
 * @property {boolean} GUEST sign in anonymously (the widget's visitors) rather than with Google
 * @property {'handsfree'|'ptt'|null} MODE null: the user's saved choice (default handsfree)
 * @property {'auto'|'drawn'|'video'} AVATAR auto: video clips when the backend offers them
 * @property {boolean} AUTOSTART start without a click (tests)
 * @property {number} PREBUFFER_MS playback pre-buffer, ms
 * @property {string|null} VOICE
 */

/**
 * Turn a ws(s) URL into the http(s) origin of the same server.
 * @param {string} wsUrl
 * @returns {string}
 */
export function httpBaseOf(wsUrl) {
  try {
    const u = new URL(wsUrl);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    return u.origin;
  } catch {
    return '';
  }
}

/**
 * The Firebase settings a deploy config names, or null when it names none (or not all).
 * @param {object|null} deploy parsed /deploy-config.json
 * @returns {AppConfig['FIREBASE']}
 */
function firebaseOf(deploy) {
  const fb = deploy?.firebase;
  const emulator = typeof fb?.authEmulatorUrl === 'string' && /^https?:\/\//.test(fb.authEmulatorUrl) ? fb.authEmulatorUrl : null;
  return fb && fb.apiKey && fb.authDomain && fb.projectId
    ? Object.freeze({
        apiKey: fb.apiKey,
        authDomain: fb.authDomain,
        projectId: fb.projectId,
        ...(emulator ? { authEmulatorUrl: emulator } : {}),
      })
    : null;
}

/**
 * Build the configuration from the page location and the deploy config. Pure.
 * @param {{hostname: string, host: string, protocol: string, search: string}} loc
 * @param {object|null} deploy parsed /deploy-config.json (ignored in development)
 * @returns {Readonly<AppConfig>}
 */
export function resolveConfig(loc, deploy = null) {
  const q = new URLSearchParams(loc.search);
  const dev = LOCAL_HOSTS.has(loc.hostname);
  let backend;
  let dashboard;
  let firebase = null;
  let authRequired = false;
  if (dev) {
    backend = `ws://${loc.hostname}:8080/ws`;
    dashboard = `http://${loc.hostname}:8501`;
  } else {
    const wsScheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    backend = deploy?.backendUrl || `${wsScheme}//${loc.host}/ws`;
    dashboard = deploy?.dashboardUrl || '';
    firebase = firebaseOf(deploy);
    authRequired = Boolean(deploy?.authRequired && firebase);
  }
  const qBackend = q.get('backend');
  if (qBackend && /^wss?:\/\//.test(qBackend)) backend = qBackend;
  const qDashboard = q.get('dashboard');
  const dashboardOverride = qDashboard && /^https?:\/\//.test(qDashboard) ? qDashboard : null;
  if (dashboardOverride) dashboard = dashboardOverride;
  const mode = q.get('mode');
  const avatar = q.get('avatar');
  const prebuffer = Number(q.get('prebuffer_ms'));
  return Object.freeze({
    BACKEND_URL: backend,
    BACKEND_HTTP_URL: httpBaseOf(backend),
    DASHBOARD_URL: dashboard,
    DASHBOARD_OVERRIDE: dashboardOverride,
    ENVIRONMENT: dev ? 'development' : 'production',
    FIREBASE: firebase,
    AUTH_REQUIRED: authRequired,
    GUEST: false,
    MODE: mode === 'ptt' || mode === 'handsfree' ? mode : null,
    AVATAR: avatarQuery(avatar),
    AUTOSTART: ['1', 'true', 'yes'].includes(q.get('autostart') ?? ''),
    PREBUFFER_MS: Number.isFinite(prebuffer) && prebuffer > 0 ? Math.min(500, Math.max(20, prebuffer)) : 70,
    VOICE: q.get('voice') || null,
  });
}

/**
 * Load the configuration for this page (fetches /deploy-config.json outside development).
 * @param {object} [options]
 * @param {Location|{hostname: string, host: string, protocol: string, search: string}} [options.location]
 * @param {typeof fetch} [options.fetchImpl]
 * @returns {Promise<Readonly<AppConfig>>}
 */
export async function loadConfig({ location = globalThis.location, fetchImpl = globalThis.fetch } = {}) {
  let deploy = null;
  if (!LOCAL_HOSTS.has(location.hostname)) {
    try {
      const res = await fetchImpl('/deploy-config.json', { cache: 'no-store' });
      if (res.ok) deploy = await res.json();
    } catch {
      deploy = null; // fall back to same-host defaults
    }
  }
  return resolveConfig(location, deploy);
}

/**
 * The configuration of the embeddable widget (widget.js), from its script tag's data-
 * attributes: `data-backend` (the backend's ws(s)://…/ws URL, required), and optionally
 * `data-mode` (ptt|handsfree), `data-avatar` (drawn|clips|native|auto) and `data-voice`; and
 * the frontend's own deploy config (its /deploy-config.json, the one the full page reads):
 * when it requires sign-in, the widget signs its visitor in anonymously (`GUEST`, see
 * docs/EMBED.md). The host page's address says nothing: it is someone else's site. Pure.
 * @param {{backend?: string, mode?: string, avatar?: string, voice?: string}} attrs
 * @param {object|null} [deploy] the frontend's parsed deploy-config.json, null if none
 * @returns {Readonly<AppConfig>}
 * @throws {Error} when data-backend is missing or not a ws(s) URL
 */
export function embedConfig(attrs, deploy = null) {
  const backend = attrs.backend ?? '';
  if (!/^wss?:\/\/[^/]/.test(backend)) {
    throw new Error('widget.js needs data-backend="wss://<backend>/ws" on its script tag');
  }
  const { mode, avatar } = attrs;
  const firebase = firebaseOf(deploy);
  const guest = Boolean(deploy?.authRequired && firebase);
  return Object.freeze({
    BACKEND_URL: backend,
    BACKEND_HTTP_URL: httpBaseOf(backend),
    DASHBOARD_URL: '',
    DASHBOARD_OVERRIDE: null,
    ENVIRONMENT: 'production',
    FIREBASE: guest ? firebase : null,
    AUTH_REQUIRED: guest,
    GUEST: guest,
    MODE: mode === 'ptt' || mode === 'handsfree' ? mode : null,
    AVATAR: avatarQuery(avatar),
    AUTOSTART: false,
    PREBUFFER_MS: 70,
    VOICE: attrs.voice || null,
  });
}

/**
 * `?avatar=`: drawn, clips (also "video", its older name) or native; anything else 'auto'.
 * @param {string|null} value
 * @returns {'auto'|'drawn'|'video'|'native'}
 */
function avatarQuery(value) {
  if (value === 'drawn' || value === 'native') return value;
  return value === 'clips' || value === 'video' ? 'video' : 'auto';
}
