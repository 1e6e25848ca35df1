/**
 * FrameSharer: camera or screen as JPEG stills, about one per second, for `video_frame`.
 *
 * Frames are drawn to a canvas downscaled to at most `maxDim` px on the long side,
 * encoded with canvas.toBlob('image/jpeg', quality) and base64-encoded by FileReader
 * (native code). Frames over `maxBytes` or produced while the previous one is still
 * encoding are skipped. Events (CustomEvent): 'frame' (detail: {bytes, width, height,
 * sent}), 'ended' (the user stopped sharing from the browser UI or the device went away).
 */

/** Why sharing could not start. kind: 'denied' | 'not-found' | 'unsupported' | 'other'. */
export class ShareError extends Error {
  constructor(kind, message, cause) {
    super(message);
    this.name = 'ShareError';
    this.kind = kind;
    this.cause = cause;
  }
}

/**
 * Scale (width, height) to fit within maxDim on the long side, keeping the aspect ratio;
 * never upscales.
 * @param {number} width px
 * @param {number} height px
 * @param {number} maxDim px
 * @returns {{width: number, height: number}} integers ≥ 1
 */
export function fitWithin(width, height, maxDim) {
  const scale = Math.min(1, maxDim / Math.max(width, height, 1));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** @returns {Promise<string>} the base64 payload of a Blob */
function blobToBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = /** @type {string} */ (reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

export class FrameSharer extends EventTarget {
  /**
   * @param {'camera'|'screen'} source
   * @param {object} options
   * @param {(base64: string, source: 'camera'|'screen') => boolean} options.send
   * @param {number} [options.maxDim=768] px on the long side
   * @param {number} [options.quality=0.7] JPEG quality 0..1
   * @param {number} [options.intervalMs=1000] time between frames, ms
   * @param {number} [options.maxBytes=524288] largest encoded frame sent, bytes
   */
  constructor(source, options) {
    super();
    this.source = source;
    this._opts = { maxDim: 768, quality: 0.7, intervalMs: 1000, maxBytes: 512 * 1024, ...options };
    /** frames sent / skipped (too big, encoder busy, socket refused) */
    this.stats = { sent: 0, tooBig: 0, busy: 0, refused: 0 };
    this._stream = null;
    this._video = null;
    this._canvas = null;
    this._timer = null;
    this._busy = false;
    this._started = null;
    this._stopped = false;
  }

  /** @returns {boolean} whether this browser can share `source` at all */
  static supported(source) {
    const md = globalThis.navigator?.mediaDevices;
    return source === 'screen' ? typeof md?.getDisplayMedia === 'function' : typeof md?.getUserMedia === 'function';
  }

  /**
   * Ask for the camera or screen and start sending frames. Safe to call more than once.
   * @returns {Promise<void>}
   * @throws {ShareError}
   */
  start() {
    this._started ??= this._start();
    return this._started;
  }

  async _start() {
    if (!FrameSharer.supported(this.source)) {
      throw new ShareError('unsupported', `This browser cannot share the ${this.source}.`);
    }
    const md = navigator.mediaDevices;
    try {
      this._stream =
        this.source === 'screen'
          ? await md.getDisplayMedia({ video: { frameRate: 5 }, audio: false })
          : await md.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (err) {
      const name = err?.name ?? '';
      const kind = name === 'NotAllowedError' || name === 'SecurityError' ? 'denied' : name === 'NotFoundError' ? 'not-found' : 'other';
      throw new ShareError(kind, `Could not start the ${this.source}: ${err?.message ?? err}`, err);
    }
    if (this._stopped) {
      this._stream.getTracks().forEach((t) => t.stop());
      return;
    }
    for (const track of this._stream.getVideoTracks()) {
      track.addEventListener('ended', () => {
        this.stop();
        this.dispatchEvent(new CustomEvent('ended'));
      });
    }
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = this._stream;
    this._video = video;
    await video.play().catch(() => {});
    this._canvas = document.createElement('canvas');
    this._timer = setInterval(() => this._tick(), this._opts.intervalMs);
    this._tick();
  }

  async _tick() {
    const video = this._video;
    if (!video || this._stopped || video.videoWidth === 0) return;
    if (this._busy) {
      this.stats.busy++;
      return;
    }
    this._busy = true;
    try {
      const { width, height } = fitWithin(video.videoWidth, video.videoHeight, this._opts.maxDim);
      const canvas = this._canvas;
      if (canvas.width !== width) canvas.width = width;
      if (canvas.height !== height) canvas.height = height;
      canvas.getContext('2d').drawImage(video, 0, 0, width, height);
      const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', this._opts.quality));
      if (!blob || this._stopped) return;
      if (blob.size > this._opts.maxBytes) {
        this.stats.tooBig++;
        return;
      }
      const b64 = await blobToBase64(blob);
      if (this._stopped) return;
      const sent = this._opts.send(b64, this.source);
      if (sent) this.stats.sent++;
      else this.stats.refused++;
      this.dispatchEvent(new CustomEvent('frame', { detail: { bytes: blob.size, width, height, sent } }));
    } finally {
      this._busy = false;
    }
  }

  /** Stop sharing and release the device. Idempotent. */
  stop() {
    if (this._stopped) return;
    this._stopped = true;
    if (this._timer !== null) clearInterval(this._timer);
    this._stream?.getTracks().forEach((t) => t.stop());
    if (this._video) this._video.srcObject = null;
    this._timer = this._stream = this._video = this._canvas = null;
  }
}
