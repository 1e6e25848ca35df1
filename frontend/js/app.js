/**
 * The avatar in a root: build the pieces over the markup of index.html found in `root`
 * (the page's document, or the widget's shadow root) and wire the controls. Used by
 * page.js (the full page) and widget-panel.js (the embeddable widget) alike.
 * Push-to-talk: hold Space (unless typing in a text field) or the "Hold to talk" button.
 */

import { unlockAudioOnGesture } from './audio-context.js';
import { Avatar } from './avatar.js';
import { Conversation } from './conversation.js';
import { describeError } from './errors.js';
import { installHooks } from './hooks.js';
import { avatarChoice, dashboardHref, fetchPageConfig, originRefused, recordingNotice, startMode } from './page-config.js';
import { FrameSharer } from './share.js';
import { Ui } from './ui.js';

const MODE_KEY = 'liveavatar.mode';
const SPEAKERPHONE_KEY = 'liveavatar.speakerphone';

/** The element an event started on, inside a shadow root too (`target` is retargeted). */
function origin(e) {
  return (typeof e.composedPath === 'function' && e.composedPath()[0]) || e.target;
}

function isTextField(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit', 'range'].includes(target.type);
}

function saved(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // private mode
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}

function savedMode() {
  try {
    const m = localStorage.getItem(MODE_KEY);
    return m === 'ptt' ? 'ptt' : 'handsfree';
  } catch {
    return 'handsfree';
  }
}

/**
 * @typedef {object} RunningApp
 * @property {Conversation} conversation
 * @property {Ui} ui
 */

/**
 * Start the avatar over the markup in `root`.
 * @param {object} options
 * @param {Document|ShadowRoot} options.root where the page's elements are (index.html's)
 * @param {Readonly<import('../config.js').AppConfig>} options.config
 * @returns {Promise<RunningApp>}
 */
export async function startApp({ root, config: loaded }) {
  const hooks = installHooks(window);
  unlockAudioOnGesture(root);
  const ui = new Ui(root);
  const avatar = new Avatar(ui.el.avatar);
  avatar.start();
  // The persona's page settings, before anything can start: the recording notice shows
  // next to Start from the beginning.
  let page = await fetchPageConfig(loaded.BACKEND_HTTP_URL);
  const showNotice = () => {
    const notice = recordingNotice(page);
    ui.setRecordingNotice(notice);
    hooks.record('recording-notice', { shown: !ui.el.recordingNotice.hidden, recording: page?.recording ?? null });
  };
  showNotice();
  // A site the backend does not allow (ALLOWED_ORIGINS, e.g. the widget on someone
  // else's page) is told so before anyone presses Start.
  const refused = page === null && (await originRefused(loaded.BACKEND_HTTP_URL));
  const config = Object.freeze({ ...loaded, AVATAR: avatarChoice(loaded.AVATAR, page) });

  // The full page signs in with Google (its button); the widget signs its visitor in as a
  // guest (anonymous) when Start is pressed, with no button (docs/EMBED.md).
  const guest = Boolean(config.GUEST);
  let auth = null;
  let signInProblem = null;
  if (config.FIREBASE && config.AUTH_REQUIRED) {
    try {
      const authModule = await import('./auth.js');
      signInProblem = authModule.signInProblem;
      auth = await authModule.createAuth(config.FIREBASE, { guest });
      if (!guest) {
        ui.el.signIn.hidden = false;
        ui.setUser(auth.user()?.displayName ?? auth.user()?.email ?? null);
        auth.onChange((u) => ui.setUser(u ? u.displayName ?? u.email ?? 'Signed in' : null));
      }
    } catch (err) {
      ui.showError(describeError('unauthorized', { message: `Sign-in could not load: ${err?.message ?? err}` }));
    }
  }
  // A guest the backend will not take (AUTH_ALLOW_ANONYMOUS off) is told before Start,
  // and Start stops before the microphone (and before making a guest account).
  const guestsRefused = (p) => guest && p?.guestsAllowed === false;

  const conversation = new Conversation({
    config,
    ui,
    avatar,
    hooks,
    getToken: auth ? (force) => auth.getToken(force) : async () => null,
    mode: startMode(config.MODE, page, savedMode()),
    speakerphone: saved(SPEAKERPHONE_KEY) === '1',
    // The persona may have changed since the page loaded: ask again (a few seconds'
    // cache), and the microphone opens only once the notice says what is true now.
    beforeMic: async () => {
      const fresh = await fetchPageConfig(config.BACKEND_HTTP_URL);
      page = fresh ?? page;
      showNotice();
      if (guestsRefused(page)) return 'guests_refused';
      // A site the backend does not allow (ALLOWED_ORIGINS) stops here, before the microphone.
      return fresh === null && (await originRefused(config.BACKEND_HTTP_URL)) ? 'origin_refused' : null;
    },
  });
  if (refused) conversation.report('origin_refused', { url: location.origin });
  else if (guestsRefused(page)) conversation.report('guests_refused');
  ui.setMode(conversation.mode);
  if (ui.el.speakerphone) ui.el.speakerphone.checked = conversation.duplex.speakerphone;
  ui.setRunning(false);
  ui.setTextEnabled(false);
  ui.setConnection('offline');
  ui.setScreenShareSupported(FrameSharer.supported('screen'));
  ui.setState('idle');
  const dashboard = dashboardHref(config, page);
  if (config.ENVIRONMENT === 'development' && ui.el.dashboard && dashboard) {
    ui.el.dashboard.href = dashboard;
    ui.el.dashboard.hidden = false;
  }

  const signIn = async () => {
    try {
      await auth.signIn();
      hooks.record('signed-in', { guest });
      return true;
    } catch (err) {
      const { code, message } = signInProblem(err, { guest });
      hooks.record('sign-in-failed', { code: err?.code ?? null });
      conversation.report(code, { message });
      return false;
    }
  };

  const start = async () => {
    // A refused guest goes straight to the conversation's own check (before the microphone).
    if (auth && !auth.user() && !guestsRefused(page) && !(await signIn())) return;
    await conversation.start();
  };

  ui.el.start.addEventListener('click', () => start());
  ui.el.stop.addEventListener('click', () => conversation.stop());
  ui.el.mute.addEventListener('click', () => conversation.toggleMute());
  ui.el.camera.addEventListener('click', () => conversation.toggleShare('camera'));
  ui.el.screen.addEventListener('click', () => conversation.toggleShare('screen'));
  ui.el.error.querySelector('.dismiss')?.addEventListener('click', () => conversation.dismissProblems());
  ui.el.signIn?.addEventListener('click', async () => {
    if (!auth) return;
    if (auth.user()) {
      conversation.stop();
      await auth.signOut();
      hooks.record('signed-out');
    } else {
      await signIn();
    }
  });
  ui.el.mode.addEventListener('change', () => {
    const mode = ui.el.mode.checked ? 'ptt' : 'handsfree';
    conversation.setMode(mode);
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch {
      /* private mode */
    }
  });
  ui.el.speakerphone?.addEventListener('change', () => {
    conversation.setSpeakerphone(ui.el.speakerphone.checked);
    save(SPEAKERPHONE_KEY, ui.el.speakerphone.checked ? '1' : '0');
  });
  // Half duplex: a tap on the avatar (or its button) interrupts it.
  ui.el.avatar?.addEventListener('pointerdown', () => conversation.tapInterrupt());
  ui.el.interrupt?.addEventListener('click', () => conversation.tapInterrupt());
  ui.el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    if (conversation.sendText(ui.el.textInput.value)) ui.el.textInput.value = '';
  });

  // Push-to-talk: Space anywhere except text fields and check boxes (Space is the only
  // key that ticks one: the Push-to-talk box itself must stay operable), and a
  // press-and-hold button.
  const spaceBound = (t) => isTextField(t) || (t instanceof HTMLInputElement && ['checkbox', 'radio'].includes(t.type));
  const pttActive = (e) => conversation.mode === 'ptt' && conversation.running && !spaceBound(origin(e));
  document.addEventListener('keydown', (e) => {
    if (e.code !== 'Space' || !pttActive(e)) return;
    e.preventDefault();
    if (!e.repeat) conversation.setTalkHeld(true);
  });
  document.addEventListener('keyup', (e) => {
    if (e.code !== 'Space' || !pttActive(e)) return;
    e.preventDefault();
    conversation.setTalkHeld(false);
  });
  window.addEventListener('blur', () => conversation.setTalkHeld(false));
  const talk = ui.el.talk;
  if (talk) {
    talk.addEventListener('pointerdown', (e) => {
      talk.setPointerCapture(e.pointerId);
      conversation.setTalkHeld(true);
    });
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
      talk.addEventListener(type, () => conversation.setTalkHeld(false));
    }
    talk.addEventListener('contextmenu', (e) => e.preventDefault());
  }
  window.addEventListener('pagehide', () => conversation.stop());

  if (config.AUTOSTART && (!auth || auth.user())) start();
  return { conversation, ui };
}
