/**
 * Plain-words descriptions of everything that can go wrong, with what to do next. Pure.
 */

/**
 * @typedef {object} ErrorInfo
 * @property {string} code the code it was made from
 * @property {string} title short headline
 * @property {string} text what happened and what to do next
 * @property {'error'|'warning'|'info'} severity
 */

const TEXTS = {
  mic_denied: [
    'Microphone blocked',
    'The page is not allowed to use your microphone. Click the lock or camera icon in the address bar, set Microphone to "Allow" for this site, then press Stop and Start again. Meanwhile you can type your messages below.',
  ],
  mic_not_found: [
    'No microphone',
    'No microphone was found. Plug one in (or pick one in your system sound settings), then press Stop and Start again. Meanwhile you can type your messages below.',
  ],
  mic_in_use: [
    'Microphone busy',
    'The microphone could not be started; another app may be using it. Close that app, then press Stop and Start again.',
  ],
  mic_other: ['Microphone problem', 'The microphone could not be started. Press Start to try again.'],
  insecure: [
    'Secure page needed',
    'Browsers only give the microphone to https:// pages (or localhost). Open this page over https.',
  ],
  unsupported_browser: [
    'Browser not supported',
    'This browser lacks the audio features the avatar needs (AudioWorklet, microphone access). Use a current Chrome, Edge, Firefox or Safari.',
  ],
  backend_unreachable: [
    'Cannot reach the server',
    'The avatar server is not answering. Is it running (liveavatar up)? Retrying automatically…',
  ],
  unreachable: [
    'Server unreachable',
    'The avatar server could not be reached after several tries. Check that it is running and press Start to try again.',
  ],
  connection_lost: ['Connection lost', 'The connection dropped. Reconnecting and resuming the conversation…'],
  server_busy: ['Server busy', 'The server is full right now. Retrying in a moment…'],
  going_away: ['Server restarting', 'The server is restarting. Reconnecting and resuming the conversation…'],
  session_ended: ['Session ended', 'The conversation was ended. Press Start to begin a new one.'],
  session_replaced: [
    'Continued elsewhere',
    'This conversation continued in another window or tab. Press Start to talk here again.',
  ],
  live_reconnecting: ['Reconnecting', 'The voice service hiccuped; resuming the conversation…'],
  live_refused: [
    'Voice service refused',
    'The voice service refused the session (its credentials or model are misconfigured). Retrying will not help; tell the site administrator.',
  ],
  live_unavailable: [
    'Voice service unavailable',
    'The voice service cannot be reached right now. Wait a minute, then press Start again.',
  ],
  quota_exceeded: [
    'Quota reached',
    'You have used up your conversation allowance for now. Try again later (the quota resets over time).',
  ],
  rate_limited: ['Too many sessions', 'Too many conversations were started in a short time. Wait a minute and press Start again.'],
  unauthorized: ['Sign-in needed', 'Please sign in and press Start again.'],
  sign_in_failed: ['Sign-in failed', 'Signing in did not work. Press "Sign in with Google" to try again.'],
  sign_in_cancelled: ['Not signed in', 'The sign-in window was closed. Press "Sign in with Google" to try again.'],
  forbidden: ['Not allowed', 'Your account is not allowed to use this avatar. Contact the site administrator.'],
  guest_sign_in_failed: ['Could not start', 'Signing in as a guest failed. Press Start to try again.'],
  guests_refused: [
    'Not open to visitors',
    'The avatar server does not accept visitors without an account, so the microphone was not opened. If this is your site, set AUTH_ALLOW_ANONYMOUS on the server (docs/EMBED.md); otherwise tell the site\'s owner.',
  ],
  unsupported_version: [
    'Page out of date',
    'This page is older than the server. Reload the page (Ctrl+Shift+R / Cmd+Shift+R).',
  ],
  internal: ['Server error', 'Something went wrong on the server. Press Start to try again.'],
  bad_request: ['Protocol error', 'The server rejected a message from this page. Reload the page and try again.'],
  tool_failed: ['Action failed', 'The avatar could not complete an action; it will tell you what happened.'],
  camera_denied: [
    'Camera blocked',
    'The page is not allowed to use your camera. Allow the camera for this site in the address bar, then try again.',
  ],
  screen_denied: ['Screen sharing cancelled', 'Screen sharing was cancelled or blocked. Press Screen to try again.'],
  share_unsupported: ['Not available', 'This browser cannot share that here (screen sharing is desktop-only).'],
  share_failed: ['Sharing failed', 'The camera or screen could not be started.'],
  origin_refused: [
    'Not available on this site',
    'The avatar server does not accept conversations from this website, so the microphone was not opened. If this is your site, add its address to the server\'s ALLOWED_ORIGINS; otherwise tell the site\'s owner.',
  ],
  autoplay: ['Sound is paused', 'Tap or click anywhere on the page to let the avatar speak.'],
  avatar_native_unavailable: [
    'Video avatar unavailable',
    'The video avatar is not available right now, so the drawn avatar is shown instead; the conversation goes on.',
  ],
  avatar_clip_failed: [
    'Avatar video unavailable',
    'A video clip of the avatar could not be loaded, so the drawn avatar is shown instead; the conversation goes on. If it keeps happening, tell the site administrator.',
  ],
};

const SEVERITY = {
  live_reconnecting: 'info',
  connection_lost: 'warning',
  going_away: 'info',
  server_busy: 'warning',
  backend_unreachable: 'warning',
  tool_failed: 'info',
  autoplay: 'info',
  session_ended: 'info',
  session_replaced: 'info',
  avatar_clip_failed: 'info',
  avatar_native_unavailable: 'info',
};

/**
 * Describe an error code for the user.
 * @param {string} code a protocol error code, a MicError/ShareError derived code, or a
 *   local one (see TEXTS)
 * @param {{message?: string, url?: string, retryInMs?: number}} [extra]
 * @returns {ErrorInfo}
 */
export function describeError(code, extra = {}) {
  const entry = TEXTS[code];
  let title;
  let text;
  if (entry) {
    [title, text] = entry;
  } else {
    title = 'Something went wrong';
    text = extra.message ? `${extra.message} Press Start to try again.` : 'Press Start to try again.';
  }
  // The reason a sign-in was refused (the server's or the SDK's words) comes first.
  if (code === 'guest_sign_in_failed' && extra.message) text = extra.message; // auth.js's words
  if ((code === 'unauthorized' || code === 'sign_in_failed') && extra.message) {
    text = code === 'unauthorized'
      ? `The server refused the sign-in: ${extra.message.replace(/\.?$/, '.')} Sign in again and press Start.`
      : `${extra.message} Press "Sign in with Google" to try again.`;
  }
  if (code === 'avatar_native_unavailable' && extra.message) text = extra.message; // the server's line
  if (code === 'backend_unreachable' && extra.url) {
    text = `The avatar server at ${extra.url} is not answering. Is it running (liveavatar up)? Retrying automatically…`;
  }
  if (code === 'origin_refused' && extra.url) {
    text = text.replace('this website', `this website (${extra.url})`);
  }
  if (extra.retryInMs != null && /Retrying|Reconnecting/.test(text)) {
    text += ` (next try in ${Math.max(1, Math.round(extra.retryInMs / 1000))} s)`;
  }
  return { code, title, text, severity: SEVERITY[code] ?? 'error' };
}

/**
 * The error code for a MicError kind.
 * @param {string} kind
 * @returns {string}
 */
export function micErrorCode(kind) {
  return (
    {
      denied: 'mic_denied',
      'not-found': 'mic_not_found',
      'in-use': 'mic_in_use',
      insecure: 'insecure',
      unsupported: 'unsupported_browser',
    }[kind] ?? 'mic_other'
  );
}
