/**
 * ShareToggle: the camera and screen buttons of a conversation. One source at a time:
 * starting one stops the other; frames go out no faster and no larger than the backend's
 * `ready` limits allow.
 */

import { base64DecodedBytes, DEFAULT_LIMITS } from './messages.js';
import { FrameSharer, ShareError } from './share.js';

export class ShareToggle {
  /**
   * @param {object} deps
   * @param {import('./ui.js').Ui} deps.ui
   * @param {object} deps.hooks window.__liveavatar
   * @param {() => (import('./socket.js').AvatarSocket|null)} deps.socket the open socket, if any
   * @param {(code: string) => void} deps.onProblem a sharing problem to show
   * @param {() => void} deps.onStarted sharing started (its earlier problem is over)
   */
  constructor({ ui, hooks, socket, onProblem, onStarted }) {
    this.ui = ui;
    this.hooks = hooks;
    this.socket = socket;
    this.onProblem = onProblem;
    this.onStarted = onStarted;
    /** @type {FrameSharer|null} */
    this._sharer = null;
  }

  /** @returns {'camera'|'screen'|null} what is shared now */
  get source() {
    return this._sharer?.source ?? null;
  }

  /**
   * Start sharing `source`, or stop it when it is already shared.
   * @param {'camera'|'screen'} source
   * @param {boolean} running whether a conversation runs (nothing starts otherwise)
   */
  async toggle(source, running) {
    if (this._sharer?.source === source) {
      this.stop();
      return;
    }
    this.stop();
    if (!running) return;
    const limits = this.socket()?.limits ?? DEFAULT_LIMITS;
    const sharer = new FrameSharer(source, {
      intervalMs: 1000 / (limits.video_fps || 1),
      maxBytes: limits.max_video_frame_bytes,
      send: (b64, src) => {
        const socket = this.socket();
        return !!socket?.isOpen && base64DecodedBytes(b64) <= limits.max_video_frame_bytes && socket.sendVideoFrame(b64, src);
      },
    });
    this._sharer = sharer;
    sharer.addEventListener('frame', (e) => this.hooks.record('share-frame', { source, ...e.detail }));
    sharer.addEventListener('ended', () => {
      if (this._sharer === sharer) this.stop();
    });
    try {
      await sharer.start();
      if (this._sharer !== sharer) return;
      this.ui.setSharing(source);
      this.onStarted();
      this.hooks.record('share-started', { source });
    } catch (err) {
      if (!(err instanceof ShareError)) throw err;
      if (this._sharer === sharer) this._sharer = null;
      this.ui.setSharing(null);
      this.onProblem(err.kind === 'unsupported' ? 'share_unsupported' : err.kind === 'denied' ? `${source}_denied` : 'share_failed');
    }
  }

  /** Stop sharing at the end of a conversation (the page resets its indicator itself). */
  release() {
    this._sharer?.stop();
    this._sharer = null;
  }

  /** Stop sharing, if anything is shared. */
  stop() {
    const s = this._sharer;
    if (!s) return;
    this._sharer = null;
    s.stop();
    this.ui.setSharing(null);
    this.hooks.record('share-stopped', { source: s.source });
  }
}
