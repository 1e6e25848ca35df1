/**
 * What follows the avatar's voice as it is heard: the model's transcript (shown word by
 * word by the voice's clock, transcript-sync.js), the report to the backend of what was
 * heard of each answer (`played`), and the page's own audio/video offset over each answer
 * (avsync.js), measured on every drawn frame of the avatar.
 *
 * The voice's clock is the PCM player's (the playback worklet's render clock) or, while
 * the native avatar plays, its video's (video-clock.js: the voice is muxed into the video,
 * so its play head is what is heard). Both answer the same questions in stream positions
 * (`VoiceClock`); when the clock changes (the native avatar starts, or falls back to the
 * drawn one), what was heard of the answers in progress is reported and the answers start
 * over on the new clock. A native answer reports no audio/video offset: the page renders
 * neither its voice nor its face (docs/AVATARS.md).
 */

import { AvSyncMeter } from './avsync.js';
import { heardContextTime } from './playback-clock.js';
import { TranscriptSync } from './transcript-sync.js';

/** How often the shown transcript catches up with the voice, ms. */
const TICK_MS = 40;

/**
 * Where the avatar's voice is, in stream positions (the n-th unit of the voice ever
 * received is position n; they only grow).
 * @typedef {object} VoiceClock
 * @property {number} rate stream positions per second
 * @property {number} tailS how much of the end of an answer the player may keep back until
 *   more comes, s
 * @property {boolean} anchors whether the voice received when a transcript arrives is the
 *   time its earlier text takes to say (the PCM voice comes with its text; the service
 *   may send an avatar's text well before the video that speaks it)
 * @property {() => number} end the position after the last voice received
 * @property {() => number} heardThrough the furthest position heard so far, -1 before any
 */

/**
 * The PCM player's clock: positions are its 24 kHz input samples (playback-clock.js).
 * @param {import('./player.js').Player} player
 * @returns {VoiceClock}
 */
export function playerClock(player) {
  return {
    rate: 24_000,
    // The resampler keeps a few samples of the end back.
    tailS: 0.03,
    anchors: true,
    end: () => player.history.end,
    heardThrough: () => player.heardThrough(),
  };
}

export class VoiceFollower {
  /**
   * @param {object} deps
   * @param {import('./ui.js').Ui} deps.ui
   * @param {import('./avatar.js').Avatar} deps.avatar
   * @param {object} deps.hooks window.__liveavatar (`heard` lists each report)
   * @param {() => import('./player.js').Player|null} deps.player
   * @param {() => import('./video-clock.js').VideoClock|null} [deps.video] the native
   *   avatar's clock, while it plays
   * @param {(turn: number, words: number, avOffsetMs: number|null) => void} deps.send
   */
  constructor({ ui, avatar, hooks, player, video = () => null, send }) {
    this._ui = ui;
    this._avatar = avatar;
    this._hooks = hooks;
    this._player = player;
    this._video = video;
    this._send = send;
    /** @type {{source: object, clock: VoiceClock}|null} the clock answers are placed on */
    this._clock = null;
    this._timer = 0;
    this._av = new AvSyncMeter();
    this._sync = new TranscriptSync({
      show: (msg) => {
        ui.addTranscript(msg);
        if (msg.interrupted) ui.markInterrupted(msg.turn);
      },
      onHeard: (turn, heard) => this._onHeard(turn, heard),
    });
    avatar.onDrawn = (now, openness) => this._measure(now, openness);
    hooks.heard = [];
  }

  /** The session's audio started: keep the transcript up with it. */
  start() {
    clearInterval(this._timer);
    this._timer = setInterval(() => this.catchUp(), TICK_MS);
  }

  /** The session ends: what was heard of an answer still playing is reported now. */
  stop() {
    clearInterval(this._timer);
    this._timer = 0;
    this.catchUp();
    this._sync.finishAll();
    this._sync.reset();
    this._av.reset();
    this._clock = null;
  }

  /** A new (not resumed) session: its turn numbers start again. */
  newSession() {
    this._sync.reset();
  }

  /** Queue one audio frame on the player, remembering which answer it belongs to. */
  audio(buffer) {
    const player = this._player();
    if (!player) return;
    const clock = this._clockNow();
    const start = player.history.end;
    player.enqueue(buffer);
    if (clock?.source === player && player.history.end > start) this._sync.audio(start, player.history.end);
  }

  /** Hand one media frame to the native avatar, remembering which answer it belongs to. */
  media(bytes) {
    const video = this._video();
    if (!video) return;
    this._clockNow();
    const span = video.push(bytes);
    if (span && span.end > span.start) this._sync.audio(span.start, span.end, span.sound);
  }

  /** A model `transcript` message: shown as it is heard. */
  transcript(msg) {
    this._sync.transcript(msg, this._at());
  }

  interrupted(turn) {
    this._sync.interrupted(turn, this._at());
  }

  turnComplete(turn) {
    this._sync.turnComplete(turn, this._at());
  }

  /** The PCM player's `flushed` event: where its voice stopped. */
  flushed(position) {
    // The PCM player is flushed at every barge-in, also while the voice is the video's.
    if (this._clock && this._clock.source === this._player()) this._sync.flushed(position);
  }

  catchUp() {
    const clock = this._clockNow();
    if (clock) this._sync.update(clock.clock.heardThrough());
  }

  _at() {
    return this._clockNow()?.clock.end() ?? 0;
  }

  /** The voice's clock now: the native avatar's while it plays, else the PCM player's. */
  _clockNow() {
    const source = this._video() ?? this._player();
    if (this._clock?.source === source) return this._clock;
    if (this._clock) {
      // Positions on the old clock mean nothing on the new one.
      this._sync.update(this._clock.clock.heardThrough());
      this._sync.finishAll();
    }
    if (!source) {
      this._clock = null;
      return null;
    }
    const video = this._video();
    const clock = video ?? playerClock(/** @type {import('./player.js').Player} */ (source));
    if (video) video.onFlushed = (position) => this._clock?.source === video && this._sync.flushed(position);
    this._clock = { source, clock };
    this._sync.reset(clock);
    this._av.reset();
    return this._clock;
  }

  /** One drawn frame of the avatar: its mouth, and the level that will be heard. */
  _measure(now, openness) {
    const player = this._player();
    const ctx = player?.context;
    if (!player || !ctx || ctx.state !== 'running' || this._avatar.mode !== 'drawn') return;
    const t = performance.now();
    // The analyser holds the last 1024 rendered samples: their centre is heard once the
    // output catches up with the render, half a window after the newest.
    const renderAheadMs = (ctx.currentTime - heardContextTime(ctx, t)) * 1000;
    const halfWindowMs = (512 / ctx.sampleRate) * 1000;
    this._av.add(t + renderAheadMs - halfWindowMs, player.outputLevel(), now + this._avatar.refreshMs, openness);
  }

  _onHeard(turn, heard) {
    // The drawn mouth's offset; a native answer's voice and face are the video's own.
    const av = this._clock?.source === this._player() ? this._av.offsetMs() : null;
    this._av.reset();
    this._hooks.heard.push({ turn, ...heard, avOffsetMs: av });
    this._hooks.record('heard', { turn, words: heard.words, total: heard.total, interrupted: heard.interrupted, av_offset_ms: av });
    this._send(turn, heard.words, av);
  }
}
