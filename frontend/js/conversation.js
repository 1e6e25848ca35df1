/**
 * Conversation: one run of the product, from Start to Stop. Runs on the page's one
 * AudioContext and owns MicCapture, Player, the AvatarSocket (wired in
 * conversation-socket.js) and the ShareToggle, derives the visible state and reports
 * everything to the Ui, the Avatar and the test hooks. The states it shows are derived in
 * conversation-state.js.
 */

import { audioSupported, resumeContext, sharedAudioContext } from './audio-context.js';
import { Duplex } from './duplex.js';
import { micErrorCode } from './errors.js';
import { connectSocket } from './conversation-socket.js';
import { visibleState } from './conversation-state.js';
import { MicCapture, MicError } from './mic.js';
import { NativeAvatar } from './native-avatar.js';
import { Player } from './player.js';
import { ProblemBanner } from './problem-banner.js';
import { ShareToggle } from './share-toggle.js';
import { VoiceFollower } from './voice-follow.js';

export class Conversation extends EventTarget {
  /**
   * @param {object} deps
   * @param {Readonly<import('../config.js').AppConfig>} deps.config
   * @param {import('./ui.js').Ui} deps.ui
   * @param {import('./avatar.js').Avatar} deps.avatar
   * @param {object} deps.hooks window.__liveavatar
   * @param {() => Promise<string|null>} [deps.getToken]
   * @param {'ptt'|'handsfree'} [deps.mode]
   * @param {boolean} [deps.speakerphone] half duplex whatever the microphone says (duplex.js)
   * @param {() => Promise<string|null|void>} [deps.beforeMic] runs before the microphone
   *   opens (the recording notice); the microphone waits for it, and a problem code it
   *   returns ends the start there (the site is not allowed)
   */
  constructor({ config, ui, avatar, hooks, getToken = async () => null, mode = 'handsfree', speakerphone = false, beforeMic = async () => {} }) {
    super();
    this.config = config;
    this.ui = ui;
    this.avatar = avatar;
    this.hooks = hooks;
    this.getToken = getToken;
    this.beforeMic = beforeMic;
    /** @type {'ptt'|'handsfree'} */
    this.mode = mode;
    this.duplex = new Duplex({ speakerphone });
    this.state = 'idle';
    this.running = false;
    this._failed = false;
    this._awaiting = false; // the user finished; no reply audio playing yet
    this._userMuted = false;
    this._talkHeld = false;
    this._micAvailable = false;
    this._hadSession = false;
    this._videosChosen = false;
    this._banner = new ProblemBanner({ ui, hooks });
    this._ctx = null;
    this._mic = null;
    this._player = null;
    this._socket = null;
    this._share = new ShareToggle({
      ui,
      hooks,
      socket: () => this._socket,
      onProblem: (code) => this._showProblem(code),
      onStarted: () => this._clearProblems('share'),
    });
    this._unlock = null;
    this._gen = 0;
    // The model's words are shown as they are heard (the user's as they come).
    this._voice = new VoiceFollower({
      ui,
      avatar,
      hooks,
      player: () => this._player, video: () => this._native.clock,
      send: (turn, words, av) => this._socket?.sendPlayed(turn, words, av),
    });
    this._native = new NativeAvatar({
      avatar,
      hooks,
      onUnavailable: (message) => this._showProblem('avatar_native_unavailable', { message }),
      onChange: () => this._update(),
    });
    hooks.outputLevel = () => this._player?.outputLevel() ?? 0;
    hooks.underruns = () => this._player?.underruns ?? 0;
    hooks.prebufferMs = () => this._player?.prebufferMs ?? config.PREBUFFER_MS;
    hooks.mouthOpenness = () => avatar.drawnOpenness;
    avatar.getFeatures = (at) => this._player?.features(at) ?? { level: 0, bands: null };
  }

  // ---- lifecycle --------------------------------------------------------------------

  /**
   * Start a session: audio graph, microphone, then the socket. Call from a user gesture
   * (the AudioContext is created and resumed before the first await).
   * @returns {Promise<void>} resolves once the first `ready` arrived or the start failed
   */
  async start() {
    if (this.running) return;
    const gen = ++this._gen; // a Stop (and new Start) while this one awaits makes it stale
    const current = () => this.running && gen === this._gen;
    this.running = true;
    this._failed = false;
    this._awaiting = false;
    this._micAvailable = false;
    this._videosChosen = false;
    this._userMuted = false;
    this.duplex.turnEnded();
    this.duplex.echoCancellation = null; // known again once the microphone opens
    this.ui.setMuted(false);
    this._clearProblems(); // a new attempt: what still applies is raised again
    this.ui.setRunning(true);
    this._update();
    if (!audioSupported()) {
      this._fail(globalThis.isSecureContext === false ? 'insecure' : 'unsupported_browser');
      return;
    }
    const ctx = (this._ctx = sharedAudioContext());
    const resumed = resumeContext(ctx);
    const player = (this._player = new Player(ctx, { prebufferMs: this.config.PREBUFFER_MS }));
    player.addEventListener('playing', () => this._onPlayback(true));
    player.addEventListener('stopped', () => this._onPlayback(false));
    player.addEventListener('flushed', (e) => {
      this._voice.flushed(e.detail.position);
      this.hooks.record('flushed', e.detail);
    });
    player.addEventListener('underrun', (e) => this.hooks.record('underrun', e.detail));
    const mic = (this._mic = new MicCapture(ctx));
    mic.addEventListener('audio', (e) => this._socket?.sendAudio(e.detail.buffer));
    mic.addEventListener('ended', () => this._onMicLost());
    this._applyMute();
    try {
      await player.start();
    } catch (err) {
      if (current()) this._fail('unsupported_browser', err?.message);
      return;
    }
    if (!current()) return;
    this.hooks.record('audio-route', { route: player.route, sampleRate: ctx.sampleRate });
    if (!(await resumed) && current()) this._waitForGesture();
    const refusal = await this.beforeMic();
    if (!current()) return;
    if (refusal) {
      this._fail(refusal);
      return;
    }
    try {
      await mic.start();
      if (!current()) return;
      this._micAvailable = true;
      this.hooks.record('mic-started', { sampleRate: ctx.sampleRate });
      this.duplex.echoCancellation = mic.echoCancellation;
      this._recordDuplex();
    } catch (err) {
      if (!(err instanceof MicError)) throw err;
      if (!current()) return;
      // Typing still works without a microphone, so the session goes on.
      this.hooks.record('mic-error', { kind: err.kind, message: err.message });
      this._showProblem(micErrorCode(err.kind));
    }
    this.ui.setMicAvailable(this._micAvailable);
    this._voice.start();
    this._connect();
    await this._socket?.start().catch(() => {}); // failures arrive as 'closed' events
  }

  /** End the session and release devices. Idempotent. */
  stop() {
    if (!this.running && !this._ctx) return;
    this.running = false;
    this._teardown();
    this._clearProblems('notice', 'audio', 'connection');
    this._update();
  }

  _teardown() {
    this._voice.stop(); // what was heard of an answer cut by Stop goes before `bye`
    this._share.release();
    this._socket?.stop();
    this._socket = null;
    this._mic?.stop();
    this._mic = null;
    this._player?.stop();
    this._player = null;
    this._native.end();
    if (this._unlock) {
      document.removeEventListener('pointerdown', this._unlock, true);
      document.removeEventListener('keydown', this._unlock, true);
      this._unlock = null;
    }
    // The page keeps its one context (audio-context.js); idle, it costs nothing.
    this._ctx?.suspend().catch(() => {});
    this._ctx = null;
    this._awaiting = false;
    this._talkHeld = false;
    this.hooks.connected = false;
    this.ui.setRunning(false);
    this.ui.setTextEnabled(false);
    this.ui.setConnection('offline');
    this.ui.setTalking(false);
  }

  _fail(code, message) {
    this.running = false;
    this._failed = true;
    this._teardown();
    this._showProblem(code, { message });
    this._update();
  }

  // ---- socket -----------------------------------------------------------------------

  _connect() {
    this._socket = connectSocket(this);
  }

  // ---- audio ------------------------------------------------------------------------

  _onPlayback(playing) {
    this.hooks.record(playing ? 'playback-started' : 'playback-stopped');
    this._applyMute(); // half duplex: the microphone is closed while the avatar speaks
    this._update();
  }

  _onMicLost() {
    this._micAvailable = false;
    this.ui.setMicAvailable(false);
    this._showProblem('mic_in_use');
    this._update();
  }

  _waitForGesture() {
    this._showProblem('autoplay');
    this._unlock = () => {
      this._ctx?.resume().then(() => {
        this._clearProblems('audio');
      });
    };
    document.addEventListener('pointerdown', this._unlock, true);
    document.addEventListener('keydown', this._unlock, true);
  }

  // ---- user actions -------------------------------------------------------------------

  /**
   * Send typed text.
   * @param {string} text
   * @returns {boolean} whether it was sent
   */
  sendText(text) {
    const sent = this._socket?.sendText(text) ?? false;
    if (sent) {
      this._awaiting = true;
      this.hooks.record('text-sent', { text });
      this._update();
    }
    return sent;
  }

  /** Toggle the mute button. @returns {boolean} muted */
  toggleMute() {
    this._userMuted = !this._userMuted;
    this.ui.setMuted(this._userMuted);
    this.hooks.record('mute', { muted: this._userMuted });
    this._applyMute();
    this._update();
    return this._userMuted;
  }

  /** @param {'ptt'|'handsfree'} mode */
  setMode(mode) {
    this.mode = mode;
    this._talkHeld = false;
    this.ui.setMode(mode);
    this.ui.setTalking(false);
    this._applyMute();
    this._update();
  }

  /** Push-to-talk key or button held (true) or released (false). */
  setTalkHeld(held) {
    if (this.mode !== 'ptt' || held === this._talkHeld) return;
    this._talkHeld = held && this.running;
    this.ui.setTalking(this._talkHeld);
    this.hooks.record('talk', { held: this._talkHeld });
    this._applyMute();
    this._update();
  }

  _applyMute() {
    const mic = this._mic;
    if (!mic) return;
    const byUser = this._userMuted || (this.mode === 'ptt' && !this._talkHeld);
    const muted = byUser || this.duplex.holdsMic(this._speaking());
    const wasMuted = mic.muted;
    mic.setMuted(muted);
    // The user's turn ends when they mute; the avatar starting to speak ends nothing.
    if (byUser && !wasMuted && this._socket?.isOpen) {
      this._socket.sendAudioEnd();
      this.hooks.record('audio-end-sent');
    }
  }

  /** @param {boolean} on speakerphone mode (half duplex) chosen by the user */
  setSpeakerphone(on) {
    this.duplex.speakerphone = on;
    this._recordDuplex();
    this._applyMute();
    this._update();
  }

  /**
   * A tap on the avatar (or its Interrupt button). In half duplex while the avatar
   * speaks, it stops the answer here and opens the microphone; otherwise nothing (speech
   * interrupts in full duplex).
   * @returns {boolean} whether it interrupted
   */
  tapInterrupt() {
    if (!this.running || !this.duplex.tap(this._speaking())) return false;
    this._player?.flush();
    this._native.interrupt();
    this.hooks.record('tap-interrupt');
    this._applyMute();
    this._update();
    return true;
  }

  /** Whether the avatar's voice is playing (PCM, or the native avatar's video). */
  _speaking() {
    return !!this._player?.playing || this._native.playing;
  }

  _recordDuplex() {
    const d = this.duplex;
    this.hooks.duplex = d.half ? 'half' : 'full';
    this.hooks.record('duplex', { mode: this.hooks.duplex, reason: d.reason, echoCancellation: d.echoCancellation });
  }

  /**
   * Start sharing `source`, or stop it when it is already shared (share-toggle.js).
   * @param {'camera'|'screen'} source
   */
  async toggleShare(source) {
    await this._share.toggle(source, this.running);
  }

  // ---- state and problems -------------------------------------------------------------

  _update() {
    const { state, hint, interruptible } = visibleState({
      failed: this._failed,
      running: this.running,
      socket: this._socket?.state ?? null,
      speaking: this._speaking(),
      awaiting: this._awaiting,
      micAvailable: this._micAvailable,
      userMuted: this._userMuted,
      mode: this.mode,
      talkHeld: this._talkHeld,
      halfDuplex: this.duplex.half,
    });
    this.ui.setInterruptible(interruptible);
    this.state = state;
    this.hooks.state = state;
    this.ui.setState(state, hint);
    this.avatar.setState(state);
  }

  /**
   * Show a problem with the others that still apply (problems.js).
   * @param {string} code
   * @param {{message?: string, url?: string, retryInMs?: number}} [extra]
   */
  report(code, extra = {}) {
    this._showProblem(code, extra);
  }

  /** The user dismissed the banner: every problem shown is acknowledged. */
  dismissProblems() {
    this._clearProblems();
  }

  _showProblem(code, extra = {}) {
    this._banner.show(code, extra);
  }

  /** @param {...import('./problems.js').Slot} slots none: every slot */
  _clearProblems(...slots) {
    this._banner.clear(...slots);
  }

  /** @param {string} code */
  _resolveProblem(code) {
    this._banner.resolve(code);
  }
}
