/**
 * What follows the avatar's voice as it is heard: the model's transcript (shown word by
 * word by the playback clock, transcript-sync.js), the report to the backend of what was
 * heard of each answer (`played`), and the page's own audio/video offset over each answer
 * (avsync.js), measured on every drawn frame of the avatar.
 */

import { AvSyncMeter } from './avsync.js';
import { heardContextTime } from './playback-clock.js';
import { TranscriptSync } from './transcript-sync.js';

/** How often the shown transcript catches up with the voice, ms. */
const TICK_MS = 40;

export class VoiceFollower {
  /**
   * @param {object} deps
   * @param {import('./ui.js').Ui} deps.ui
   * @param {import('./avatar.js').Avatar} deps.avatar
   * @param {object} deps.hooks window.__liveavatar (`heard` lists each report)
   * @param {() => import('./player.js').Player|null} deps.player
   * @param {(turn: number, words: number, avOffsetMs: number|null) => void} deps.send
   */
  constructor({ ui, avatar, hooks, player, send }) {
    this._ui = ui;
    this._avatar = avatar;
    this._hooks = hooks;
    this._player = player;
    this._send = send;
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
  }

  /** A new (not resumed) session: its turn numbers start again. */
  newSession() {
    this._sync.reset();
  }

  /** Queue one audio frame on the player, remembering which answer it belongs to. */
  audio(buffer) {
    const player = this._player();
    if (!player) return;
    const start = player.history.end;
    player.enqueue(buffer);
    if (player.history.end > start) this._sync.audio(start, player.history.end);
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

  /** The player's `flushed` event: where the voice stopped. */
  flushed(position) {
    this._sync.flushed(position);
  }

  catchUp() {
    const player = this._player();
    if (player) this._sync.update(player.heardThrough());
  }

  _at() {
    return this._player()?.history.end ?? 0;
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
    const av = this._av.offsetMs();
    this._av.reset();
    this._hooks.heard.push({ turn, ...heard, avOffsetMs: av });
    this._hooks.record('heard', { turn, words: heard.words, total: heard.total, interrupted: heard.interrupted, av_offset_ms: av });
    this._send(turn, heard.words, av);
  }
}
