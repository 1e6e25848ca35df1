/**
 * What a conversation does with its backend socket: opens it and turns each message
 * (ready, the avatar's voice or video, transcripts, interruptions, turn ends, tools,
 * errors, reconnects and the close) into the conversation's state, its players and what
 * the page shows. Works on the Conversation's own parts (conversation.js).
 */

import { browserKey } from './browser-key.js';
import { normaliseAvatarMedia } from './messages.js';
import { AvatarSocket } from './socket.js';

/**
 * GET <backend>/api/videos; null when absent (404) or unreachable.
 * @param {string} httpBase
 * @returns {Promise<{idle: string[], talking: string[], expressive: string[]}|null>}
 */
export async function fetchVideos(httpBase) {
  if (!httpBase) return null;
  try {
    const res = await fetch(`${httpBase}/api/videos`, { cache: 'no-store' });
    return res.ok ? normaliseAvatarMedia(await res.json()) : null;
  } catch {
    return null;
  }
}

/**
 * Open the conversation's socket, every event wired; only the conversation's current
 * socket reaches it (a stopped one's late events are dropped).
 * @param {import('./conversation.js').Conversation} conv
 * @returns {AvatarSocket}
 */
export function connectSocket(conv) {
  const c = conv.config;
  const socket = new AvatarSocket(c.BACKEND_URL, {
    getToken: conv.getToken,
    browserKey: browserKey(),
    voice: c.VOICE ?? undefined,
  });
  const on = (type, fn) => socket.addEventListener(type, (e) => conv._socket === socket && fn(e.detail));
  on('state', ({ state }) => {
    conv.hooks.connected = state === 'open';
    conv.ui.setConnection(state === 'open' ? 'online' : state === 'reconnecting' ? 'reconnecting' : state === 'connecting' ? 'connecting' : 'offline');
    if (state !== 'open') {
      conv._awaiting = false;
      // Typed text cannot be delivered while the socket is down; `ready` enables it again.
      conv.ui.setTextEnabled(false);
    }
    conv._update();
  });
  on('message', (msg) => {
    if (msg.type === 'pong') conv.hooks.record('pong', { rtt_ms: socket.rttMs });
    else conv.hooks.record(msg.type, msg);
  });
  on('audio', ({ buffer }) => {
    if (!conv.duplex.dropping) conv._voice.audio(buffer); // a tap cut this answer
  });
  on('media', ({ bytes }) => {
    if (!conv.duplex.dropping) conv._voice.media(bytes); // a tap cut this answer
  });
  on('avatar_fallback', (msg) => conv._native.unavailable(msg.message));
  on('ready', (msg) => onReady(conv, msg));
  on('transcript', (msg) => {
    if (msg.role === 'model') conv._voice.transcript(msg);
    else conv.ui.addTranscript(msg);
    if (msg.final || msg.role === 'model') conv._awaiting = true;
    conv._resolveProblem('live_reconnecting');
    conv._update();
  });
  on('interrupted', (msg) => {
    conv.duplex.turnEnded();
    conv._player?.flush();
    conv._voice.interrupted(msg.turn);
    conv._native.interrupt();
    conv.ui.markInterrupted(msg.turn);
    conv._awaiting = false;
    conv._update();
  });
  on('turn_complete', (msg) => {
    conv.duplex.turnEnded();
    conv._player?.endOfTurn();
    conv._voice.turnComplete(msg.turn);
    conv._awaiting = false;
    conv._clearProblems('notice');
    conv._update();
  });
  on('tool', (msg) => {
    if (msg.status === 'started') conv._awaiting = true;
    conv._update();
    conv.ui.setTool(msg);
  });
  on('metrics', (msg) => conv.ui.setLatency(msg));
  on('sources', (msg) => conv.ui.addSources(msg));
  on('error', (msg) => {
    if (msg.fatal) return; // the close that follows ends the session
    if (msg.code === 'live_reconnecting' || msg.code === 'tool_failed') conv._showProblem(msg.code);
    else console.warn(`backend: ${msg.code}: ${msg.message}`);
  });
  on('reconnecting', ({ delayMs, reason, code, attempt }) => {
    conv.hooks.record('socket-reconnecting', { delayMs, reason, code, attempt });
    // The backend renewed a healthy socket: the session resumes in a moment, and the
    // user, who at most lost a turn just begun, needs no banner for it.
    if (reason === 'renew') return;
    const problem = reason === 'going_away' ? 'going_away' : code === 1013 ? 'server_busy' : reason === 'dropped' ? 'connection_lost' : 'backend_unreachable';
    conv._showProblem(problem, { url: c.BACKEND_URL, retryInMs: delayMs });
  });
  on('closed', ({ code, error }) => {
    conv.hooks.record('socket-closed', { code, error: error?.code });
    if (error?.code === 'session_ended') {
      conv.running = false;
      conv._teardown();
      conv._showProblem('session_ended');
      conv._update();
    } else {
      conv._fail(error?.code ?? 'internal', error?.message);
    }
  });
  return socket;
}

/**
 * The session is ready (new or resumed): the transcript, the problems and the avatar.
 * @param {import('./conversation.js').Conversation} conv
 * @param {any} msg the `ready` message
 */
function onReady(conv, msg) {
  conv.hooks.sessionId = msg.session_id;
  if (!msg.resumed && conv._hadSession) conv.ui.newSession();
  if (!msg.resumed) conv._voice.newSession();
  conv._hadSession = true;
  conv._clearProblems('connection');
  conv.ui.setTextEnabled(true);
  if (msg.avatar_mode === 'native') {
    // Each socket's Live stream starts anew (its own init segment and timestamps).
    conv._videosChosen = true;
    conv._native.end();
    conv._native.begin();
  } else if (!conv._videosChosen) {
    conv._videosChosen = true;
    chooseAvatar(conv, msg.avatar);
  }
}

/**
 * The drawn face or the persona's clips, as the page is configured (once per Start).
 * @param {import('./conversation.js').Conversation} conv
 * @param {{idle: string[], talking: string[], expressive: string[]}} media from `ready`
 */
async function chooseAvatar(conv, media) {
  const mode = conv.config.AVATAR;
  if (mode === 'drawn') return conv.avatar.useDrawn();
  let clips = media;
  if (clips.idle.length === 0 && mode === 'video') clips = await fetchVideos(conv.config.BACKEND_HTTP_URL);
  conv.avatar.onFallback = (detail) => {
    conv.hooks.record('avatar-fallback', detail);
    conv._showProblem('avatar_clip_failed');
  };
  conv.avatar.useVideos(clips, conv.config.BACKEND_HTTP_URL || location.href);
  conv.hooks.record('avatar-mode', { mode: conv.avatar.mode });
}
