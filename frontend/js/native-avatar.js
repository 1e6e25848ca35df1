/**
 * NativeAvatar: one session's Gemini-rendered avatar (docs/AVATARS.md). The socket's media
 * frames go through its VideoClock (which notes where each answer is in the stream, so the
 * transcript follows the voice: voice-follow.js) to an MsePlayer playing in the avatar's
 * <video>; `interrupted` stops it at once; `avatar_fallback` (or a stream this browser
 * cannot play) brings the drawn face back, and the voice then comes as PCM through the
 * usual player.
 */

import { MsePlayer } from './mse-player.js';
import { VideoClock } from './video-clock.js';

export class NativeAvatar {
  /**
   * @param {object} deps
   * @param {import('./avatar.js').Avatar} deps.avatar
   * @param {{record: (name: string, detail?: object) => void}} deps.hooks
   * @param {(message: string|undefined) => void} deps.onUnavailable the drawn face is back;
   *   tell the user (the server's line, when it sent one)
   * @param {() => void} [deps.onChange] the video started or stopped playing
   */
  constructor({ avatar, hooks, onUnavailable, onChange = () => {} }) {
    this.avatar = avatar;
    this.hooks = hooks;
    this.onUnavailable = onUnavailable;
    this.onChange = onChange;
    /** @type {MsePlayer|null} */
    this.player = null;
    /** @type {VideoClock|null} the voice's clock while the video plays */
    this.clock = null;
  }

  /** The session said `avatar_mode: "native"`: show the video. Idempotent. */
  begin() {
    if (this.player) return;
    const video = this.avatar.useNative();
    for (const kind of ['playing', 'waiting', 'pause', 'ended']) video.addEventListener(kind, () => this.onChange());
    const player = (this.player = new MsePlayer(video));
    this.clock = new VideoClock(player);
    player.addEventListener('flushed', (e) => this.hooks.record('native-flushed', e.detail));
    player.addEventListener('type', (e) => this.hooks.record('native-type', { mime: e.detail.type, codecs: e.detail.codecs }));
    player.addEventListener('error', (e) => {
      this.hooks.record('native-error', e.detail);
      if (e.detail.fatal !== false && this.player === player) this.unavailable();
    });
    this.hooks.record('avatar-mode', { mode: 'native' });
  }

  /** Whether the avatar is speaking: its video plays with media ahead of it. */
  get playing() {
    const v = this.player?.video;
    return !!v && !v.paused && v.readyState >= 3;
  }

  /** Barge-in: the avatar stops now. */
  interrupt() {
    this.player?.interrupt();
  }

  /**
   * The native avatar is gone for this session: the drawn face, and a notice.
   * @param {string} [message]
   */
  unavailable(message) {
    const had = this.player !== null;
    this.end();
    this.avatar.useDrawn();
    this.hooks.record('avatar-mode', { mode: 'drawn' });
    if (had || message) this.onUnavailable(message);
  }

  /** Release the player (the session ended). Idempotent. */
  end() {
    this.player?.stop();
    this.player = null;
    this.clock = null;
  }
}
