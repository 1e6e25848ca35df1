/**
 * The page's controls and text: status, transcript, error banner, latency, buttons.
 * A view only: it renders what it is told and reports clicks through `el` listeners
 * wired in app.js. Elements are found by their data-testid (see index.html).
 */

import { renderSources } from './sources.js';
import { TranscriptModel } from './transcript.js';

const STATE_LABELS = {
  idle: 'Press Start to talk',
  connecting: 'Connecting…',
  listening: 'Listening',
  thinking: 'Thinking…',
  speaking: 'Speaking',
  reconnecting: 'Reconnecting…',
  error: 'Stopped',
};

/** Lines kept in the screen readers' log (older ones are read already). */
const ANNOUNCED_LINES = 20;

const CONNECTION_LABELS = {
  offline: 'Offline',
  connecting: 'Connecting',
  online: 'Connected',
  reconnecting: 'Reconnecting',
};

export class Ui {
  /** @param {Document} [doc] */
  constructor(doc = document) {
    const $ = (id) => /** @type {HTMLElement} */ (doc.querySelector(`[data-testid="${id}"]`));
    /** the page's elements, by role */
    this.el = {
      start: $('start'),
      stop: $('stop'),
      mute: $('mute'),
      textInput: /** @type {HTMLInputElement} */ ($('text-input')),
      send: $('send'),
      transcript: $('transcript'),
      status: $('status'),
      error: $('error'),
      latency: $('latency'),
      camera: $('camera'),
      screen: $('screen'),
      sharing: $('sharing-indicator'),
      mode: /** @type {HTMLInputElement} */ ($('mode')),
      speakerphone: /** @type {HTMLInputElement} */ ($('speakerphone')),
      interrupt: $('interrupt'),
      talk: doc.querySelector('.talk'),
      composer: doc.querySelector('.composer'),
      connection: doc.querySelector('.connection'),
      signIn: doc.querySelector('.sign-in'),
      user: doc.querySelector('.user'),
      dashboard: doc.querySelector('.dashboard-link'),
      recordingNotice: $('recording-notice'),
      announcer: $('announcer'),
      avatar: doc.querySelector('[data-avatar]'),
    };
    this.transcript = new TranscriptModel();
    this._nodes = new Map(); // entry key -> element
    this._sources = new Map(); // model entry key -> its sources' element
    this._announced = new Set(); // entry keys read out by the announcer
    this._state = 'idle';
    this._hint = '';
  }

  /**
   * @param {string} state one of STATE_LABELS' keys
   * @param {string} [hint] replaces the default label (e.g. "Hold Space to talk")
   */
  setState(state, hint = '') {
    this._state = state;
    this._hint = hint;
    const s = this.el.status;
    s.dataset.state = state;
    s.querySelector('.label').textContent = hint || STATE_LABELS[state] || state;
  }

  /** @param {'offline'|'connecting'|'online'|'reconnecting'} state */
  setConnection(state) {
    const c = this.el.connection;
    if (!c) return;
    c.dataset.connection = state;
    c.querySelector('.label').textContent = CONNECTION_LABELS[state] ?? state;
  }

  /**
   * Enable the controls that make sense while a session runs (or not).
   * @param {boolean} running
   */
  setRunning(running) {
    this.el.start.disabled = running;
    this.el.stop.disabled = !running;
    this.el.mute.disabled = !running;
    this.el.camera.disabled = !running;
    this.el.screen.disabled = !running;
    if (this.el.talk) this.el.talk.disabled = !running;
    if (!running) {
      this.setMuted(false);
      this.setSharing(null);
    }
  }

  /** @param {boolean} enabled whether typed messages can be sent now */
  setTextEnabled(enabled) {
    this.el.send.disabled = !enabled;
    this.el.textInput.placeholder = enabled ? 'Type a message…' : 'Start to type a message…';
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.el.mute.setAttribute('aria-pressed', String(muted));
    this.el.mute.textContent = muted ? 'Unmute' : 'Mute';
  }

  /** @param {boolean} available false when there is no usable microphone */
  setMicAvailable(available) {
    const running = !this.el.stop.disabled;
    this.el.mute.disabled = !available || !running;
    if (this.el.talk) this.el.talk.disabled = !available || !running;
  }

  /** @param {'ptt'|'handsfree'} mode */
  setMode(mode) {
    this.el.mode.checked = mode === 'ptt';
    if (this.el.talk) this.el.talk.hidden = mode !== 'ptt';
  }

  /** @param {boolean} on half duplex while the avatar speaks: a tap interrupts it */
  setInterruptible(on) {
    if (this.el.interrupt) this.el.interrupt.hidden = !on;
    this.el.avatar?.classList.toggle('interruptible', on);
  }

  /** @param {boolean} held push-to-talk is held down */
  setTalking(held) {
    this.el.talk?.classList.toggle('held', held);
    this.el.talk?.setAttribute('aria-pressed', String(held));
  }

  /**
   * Show (or hide) the recording notice next to Start; Start then names it as its description.
   * @param {{show: boolean, text: string}} notice
   */
  setRecordingNotice({ show, text }) {
    const n = this.el.recordingNotice;
    if (!n) return;
    n.hidden = !show;
    if (show) n.querySelector('.label').textContent = text;
    if (show) this.el.start.setAttribute('aria-describedby', n.id);
    else this.el.start.removeAttribute('aria-describedby');
  }

  /** @param {'camera'|'screen'|null} source what is being shared now */
  setSharing(source) {
    this.el.camera.setAttribute('aria-pressed', String(source === 'camera'));
    this.el.screen.setAttribute('aria-pressed', String(source === 'screen'));
    const s = this.el.sharing;
    s.hidden = !source;
    s.dataset.source = source ?? '';
    s.querySelector('.label').textContent = source ? `Sharing your ${source}` : '';
  }

  /** @param {boolean} supported whether screen sharing exists here (not on phones) */
  setScreenShareSupported(supported) {
    this.el.screen.hidden = !supported;
  }

  /**
   * Show one problem in the banner, or hide it.
   * @param {import('./errors.js').ErrorInfo|null} info
   */
  showError(info) {
    this.showProblems(info ? [info] : []);
  }

  /**
   * Show every problem that applies, the newest first (problems.js), or hide the banner.
   * The banner's data-code and data-severity are the newest problem's.
   * @param {import('./errors.js').ErrorInfo[]} problems
   */
  showProblems(problems) {
    const e = this.el.error;
    const body = e.querySelector('.error-body');
    body.replaceChildren(
      ...problems.map((info) => {
        const row = document.createElement('p');
        row.className = 'problem';
        row.dataset.code = info.code;
        row.dataset.severity = info.severity;
        const title = document.createElement('strong');
        title.className = 'title';
        title.textContent = info.title;
        const text = document.createElement('span');
        text.className = 'text';
        text.textContent = info.text;
        row.append(title, ' ', text);
        return row;
      }),
    );
    const top = problems[0];
    e.hidden = !top;
    e.dataset.code = top?.code ?? '';
    e.dataset.codes = problems.map((p) => p.code).join(' ');
    e.dataset.severity = top?.severity ?? '';
  }

  /** @returns {string} code of the banner shown, '' when hidden */
  get errorCode() {
    return this.el.error.hidden ? '' : this.el.error.dataset.code ?? '';
  }

  /**
   * @param {{time_to_first_audio_ms: number|null, turn_latency_ms: number, turn: number, cost_usd?: number}} m
   */
  setLatency(m) {
    const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
    const first = m.time_to_first_audio_ms == null ? '—' : fmt(m.time_to_first_audio_ms);
    // The turn's estimated cost (the backend's price table), once Live has reported usage.
    const cost = m.cost_usd > 0 ? ` · ≈ $${m.cost_usd.toFixed(4)}` : '';
    this.el.latency.textContent = `Last turn: first audio ${first} · turn ${fmt(m.turn_latency_ms)}${cost}`;
    this.el.latency.dataset.ttfaMs = m.time_to_first_audio_ms == null ? '' : String(Math.round(m.time_to_first_audio_ms));
    this.el.latency.dataset.turn = String(m.turn);
  }

  /** A new, non-resumed session begins: following turns are a new conversation. */
  newSession() {
    if (this.transcript.entries.length === 0) return;
    this.transcript.newSession();
    const hr = document.createElement('div');
    hr.className = 'session-break';
    hr.textContent = 'New conversation';
    this.el.transcript.append(hr);
  }

  /**
   * Render one `transcript` message (partial or final) in turn order.
   * @param {{role: 'user'|'model', text: string, final: boolean, turn: number}} msg
   */
  addTranscript(msg) {
    const box = this.el.transcript;
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const { entry, index, created } = this.transcript.apply(msg);
    let node = this._nodes.get(entry.key);
    if (created) {
      // The entry's text is exactly the transcript; "You"/"Avatar" come from CSS.
      node = document.createElement('div');
      node.className = 'entry';
      node.dataset.role = entry.role;
      node.dataset.turn = String(entry.turn);
      const next = this.transcript.entries[index + 1];
      const before = next ? this._nodes.get(next.key) : null;
      box.insertBefore(node, before ?? null);
      this._nodes.set(entry.key, node);
    }
    node.dataset.final = String(entry.final);
    node.textContent = entry.text;
    if (stick || created) box.scrollTop = box.scrollHeight;
    if (entry.final) this._announce(entry);
  }

  /**
   * Read a line out to screen readers once, when it is final (or cut off): the visible
   * transcript is not a live region, so the words of a line being spoken are not read
   * out one partial update at a time.
   * @param {import('./transcript.js').TranscriptEntry} entry
   * @param {string} [suffix]
   */
  _announce(entry, suffix = '') {
    const log = this.el.announcer;
    if (!log || this._announced.has(entry.key) || !entry.text) return;
    this._announced.add(entry.key);
    const line = document.createElement('p');
    line.textContent = `${entry.role === 'user' ? 'You' : 'Avatar'}: ${entry.text}${suffix}`;
    log.append(line);
    while (log.childElementCount > ANNOUNCED_LINES) log.firstElementChild.remove();
  }

  /**
   * Show a grounded answer's sources right under the avatar's reply of `msg.turn` (a
   * repeated message replaces the earlier list).
   * @param {{turn: number, sources: object[], queries: string[]}} msg
   */
  addSources(msg) {
    const key = this.transcript.modelKey(msg.turn);
    this._sources.get(key)?.remove();
    const el = renderSources(document, msg);
    const reply = this._nodes.get(key);
    if (reply) reply.after(el);
    else this.el.transcript.append(el);
    this._sources.set(key, el);
  }

  /** @param {number} turn the model's line of this turn was cut off */
  markInterrupted(turn) {
    const entry = this.transcript.interrupt(turn);
    const node = entry && this._nodes.get(entry.key);
    if (node) node.dataset.interrupted = 'true';
    if (entry) this._announce(entry, ' (interrupted)');
  }

  /** @param {{name?: string, status: string}} tool show tool activity on the status line */
  setTool(tool) {
    if (tool.status === 'started') this.setState(this._state, `Using ${tool.name ?? 'a tool'}…`);
  }

  /** @param {string|null} name signed-in user's name, or null */
  setUser(name) {
    if (this.el.user) {
      this.el.user.hidden = !name;
      this.el.user.textContent = name ?? '';
    }
    if (this.el.signIn) this.el.signIn.textContent = name ? 'Sign out' : 'Sign in with Google';
  }
}
