/**
 * The avatar on screen.
 *
 * Drawn mode (default): an SVG face whose mouth follows the lip-sync of the audio being
 * heard, redrawn on requestAnimationFrame at a steady ~30 fps (frames closer than 33 ms
 * to the previous drawn one are skipped). A frame drawn now reaches the screen at the
 * next display refresh and stays up until the next drawn frame, so it shows the sound
 * heard in the middle of that span (plus the smoothing's own lag): the audio features
 * are asked for that moment, read from the playback clock (player.js). Blinking every 2–6 s, small eye
 * movements, breathing and head sway. The state (idle/connecting/listening/thinking/
 * speaking/reconnecting/error) shows as the ring colour via `data-state` on the root.
 *
 * Video mode: three looping, muted <video> elements (idle, talking, expressive) switched
 * with the speaking state; used when clip URLs are available.
 */

import { LipSync } from './lipsync.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FRAME_MS = 1000 / 30;
const MOUTH_X = 120;
const MOUTH_Y = 153;
const EYE_Y = 108;

/**
 * Mouth geometry for a viseme and openness. Pure.
 * @param {number} openness 0..1
 * @param {import('./lipsync.js').Viseme} viseme
 * @returns {{halfWidth: number, up: number, down: number}} px in the 240×260 viewBox;
 *   `up`/`down` are how far the upper/lower lip curve from the mouth line
 */
export function mouthShape(openness, viseme) {
  const o = Math.max(0, Math.min(1, openness));
  switch (viseme) {
    case 'M':
      return { halfWidth: 15, up: -0.6, down: 0.8 };
    case 'E':
      return { halfWidth: 19 + 5 * o, up: 1.5 + 3 * o, down: 2.5 + 10 * o };
    case 'O':
      return { halfWidth: 11 + 2 * o, up: 3 + 6 * o, down: 4 + 13 * o };
    case 'A':
      return { halfWidth: 16 + 3 * o, up: 2 + 5 * o, down: 3 + 17 * o };
    default:
      return { halfWidth: 17, up: -1.4, down: 2.2 }; // closed, a slight smile
  }
}

/**
 * SVG path data of the mouth (two quadratic curves meeting at the corners).
 * @param {number} openness 0..1
 * @param {import('./lipsync.js').Viseme} viseme
 * @returns {string}
 */
export function mouthPath(openness, viseme) {
  const { halfWidth: w, up, down } = mouthShape(openness, viseme);
  const x0 = (MOUTH_X - w).toFixed(1);
  const x1 = (MOUTH_X + w).toFixed(1);
  const y = MOUTH_Y;
  return `M${x0} ${y} Q${MOUTH_X} ${(y - 2 * up).toFixed(1)} ${x1} ${y} Q${MOUTH_X} ${(y + 2 * down).toFixed(1)} ${x0} ${y}Z`;
}

const FACE_SVG = `
<svg class="avatar-svg" viewBox="0 0 240 260" role="img" aria-label="The avatar's face">
  <defs>
    <radialGradient id="av-skin" cx="45%" cy="38%" r="70%">
      <stop offset="0" stop-color="#f8d9c2"/><stop offset="1" stop-color="#e2a684"/>
    </radialGradient>
    <clipPath id="av-clip"><circle cx="120" cy="130" r="110"/></clipPath>
  </defs>
  <circle class="avatar-bg" cx="120" cy="130" r="110"/>
  <g clip-path="url(#av-clip)">
    <g class="avatar-body">
      <path d="M24 275 C30 218 78 198 120 198 C162 198 210 218 216 275 Z" fill="#35548a"/>
      <path d="M100 168 L100 203 Q120 216 140 203 L140 168 Z" fill="#e6ae8f"/>
      <path d="M96 199 Q120 226 144 199" fill="none" stroke="#2a426e" stroke-width="4"/>
    </g>
    <g class="avatar-head">
      <path d="M54 120 C48 58 88 34 120 34 C152 34 192 58 186 120 L188 160 C176 128 64 128 52 160 Z" fill="#3b2a21"/>
      <ellipse cx="59" cy="122" rx="8" ry="13" fill="#e2a684"/>
      <ellipse cx="181" cy="122" rx="8" ry="13" fill="#e2a684"/>
      <ellipse cx="120" cy="118" rx="60" ry="71" fill="url(#av-skin)"/>
      <path d="M58 104 C62 58 100 44 124 46 C152 48 180 64 182 104 C164 80 128 70 98 80 C80 86 68 94 58 104 Z" fill="#3b2a21"/>
      <g class="avatar-brows" fill="none" stroke="#3b2a21" stroke-width="3.5" stroke-linecap="round">
        <path d="M85 93 Q97 86 110 91"/><path d="M130 91 Q143 86 155 93"/>
      </g>
      <g class="avatar-eyes">
        <ellipse cx="98" cy="${EYE_Y}" rx="9.5" ry="6.8" fill="#fff"/>
        <ellipse cx="142" cy="${EYE_Y}" rx="9.5" ry="6.8" fill="#fff"/>
        <g class="avatar-irises">
          <circle cx="98" cy="${EYE_Y}" r="4.8" fill="#4b3325"/><circle cx="142" cy="${EYE_Y}" r="4.8" fill="#4b3325"/>
          <circle cx="99.6" cy="${EYE_Y - 1.8}" r="1.5" fill="#fff"/><circle cx="143.6" cy="${EYE_Y - 1.8}" r="1.5" fill="#fff"/>
        </g>
      </g>
      <path d="M121 116 Q117 128 115 132 Q120 136 126 133" fill="none" stroke="#c4866a" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>
      <circle cx="87" cy="139" r="10" fill="#f09a9a" opacity="0.25"/>
      <circle cx="153" cy="139" r="10" fill="#f09a9a" opacity="0.25"/>
      <path class="avatar-mouth" data-testid="mouth" d="${mouthPath(0, 'closed')}"
            fill="#5b1f29" stroke="#a4485a" stroke-width="2.4" stroke-linejoin="round"/>
    </g>
  </g>
  <circle class="avatar-ring" cx="120" cy="130" r="114" fill="none"/>
</svg>`;

export class Avatar {
  /**
   * @param {HTMLElement} root container; the face is rendered into it
   * @param {object} [options]
   * @param {(perfTime: number) => {level: number, bands: object|null}} [options.getFeatures]
   *   audio features of what is heard at a performance.now() time (Player.features), read
   *   once per drawn frame
   * @param {() => number} [options.random]
   * @param {LipSync} [options.lipSync]
   */
  constructor(root, { getFeatures = () => ({ level: 0, bands: null }), random = Math.random, lipSync = new LipSync() } = {}) {
    this.root = root;
    this.getFeatures = getFeatures;
    this._random = random;
    this._lipSync = lipSync;
    /** mouth openness of the last drawn frame, 0..1 */
    this.drawnOpenness = 0;
    /** viseme of the last drawn frame */
    this.drawnViseme = 'closed';
    /** 'drawn', 'video' (clips) or 'native' */
    this.mode = 'drawn';
    /** @type {((detail: {kind: string, code: number|null}) => void)|null} called when a clip
     *  failed to load and the drawn face took over */
    this.onFallback = null;
    this.state = 'idle';
    /** called on every animation frame with its time and the mouth openness it shows */
    this.onDrawn = (_now, _openness) => {};
    root.classList.add('avatar');
    root.dataset.state = 'idle';
    root.dataset.mode = 'drawn';
    root.insertAdjacentHTML('beforeend', FACE_SVG);
    this._svg = root.querySelector('.avatar-svg');
    this._mouth = root.querySelector('.avatar-mouth');
    this._eyes = root.querySelector('.avatar-eyes');
    this._irises = root.querySelector('.avatar-irises');
    this._head = root.querySelector('.avatar-head');
    this._body = root.querySelector('.avatar-body');
    this._ring = root.querySelector('.avatar-ring');
    this._videoBox = document.createElement('div');
    this._videoBox.className = 'avatar-videos';
    this._videoBox.hidden = true;
    root.append(this._videoBox);
    this._videos = null;
    this._raf = 0;
    this._lastDraw = 0;
    this._lastTick = 0;
    /** display refresh interval, ms (an average of the animation frames' spacing) */
    this.refreshMs = 1000 / 60;
    this._t0 = 0;
    this._nextBlink = 0;
    this._blinkStart = -1;
    this._nextGlance = 0;
    this._glance = { x: 0, y: 0 };
    this._tick = (now) => this._frame(now);
  }

  /** Start the animation loop. Idempotent. */
  start() {
    if (this._raf) return;
    this._t0 = performance.now();
    this._nextBlink = this._t0 + this._blinkInterval();
    this._nextGlance = this._t0 + 1500;
    this._raf = requestAnimationFrame(this._tick);
  }

  /** Stop the animation loop. Idempotent. */
  stop() {
    if (this._raf) cancelAnimationFrame(this._raf);
    this._raf = 0;
  }

  /**
   * Show a conversation state (ring colour and video clip).
   * @param {string} state
   */
  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.root.dataset.state = state;
    if (this.mode === 'video') this._showClip(state === 'speaking' ? this._speakingClip() : 'idle');
  }

  /**
   * Switch to video mode when clips exist; otherwise stay (or go back to) drawn.
   * @param {{idle: string[], talking: string[], expressive: string[]}|null} media
   * @param {string} [baseUrl] base for relative clip URLs
   * @returns {boolean} whether video mode is now active
   */
  useVideos(media, baseUrl = location.href) {
    if (!media || media.idle.length === 0 || media.talking.length === 0) {
      this.useDrawn();
      return false;
    }
    this._videoBox.replaceChildren();
    this._videos = {};
    for (const kind of ['idle', 'talking', 'expressive']) {
      const list = media[kind];
      if (!list.length) continue;
      const v = document.createElement('video');
      v.muted = true;
      v.loop = true;
      v.playsInline = true;
      v.preload = 'auto';
      v.className = `avatar-clip avatar-clip-${kind}`;
      v.src = new URL(list[Math.floor(this._random() * list.length)], baseUrl).href;
      v.hidden = true;
      // A clip that cannot load (404, unsupported codec) sends us back to the drawn face,
      // and says so (onFallback), so the page can tell the user why the avatar changed.
      v.addEventListener('error', () => {
        if (!this._videos || !Object.values(this._videos).includes(v)) return;
        this.useDrawn();
        this.onFallback?.({ kind, code: v.error?.code ?? null });
      });
      this._videoBox.append(v);
      this._videos[kind] = v;
    }
    this.mode = 'video';
    this.root.dataset.mode = 'video';
    this._videoBox.hidden = false;
    this._svg.style.display = 'none';
    this._showClip(this.state === 'speaking' ? 'talking' : 'idle');
    return true;
  }

  /**
   * Show Gemini's own avatar: a <video> the caller feeds (MsePlayer). Its sound is the
   * avatar's voice, so it is not muted.
   * @returns {HTMLVideoElement}
   */
  useNative() {
    const v = document.createElement('video');
    v.className = 'avatar-clip avatar-native';
    v.playsInline = true;
    v.autoplay = true;
    this._videoBox.replaceChildren(v);
    this._videos = null;
    this.mode = 'native';
    this.root.dataset.mode = 'native';
    this._videoBox.hidden = false;
    this._svg.style.display = 'none';
    return v;
  }

  /** Back to the drawn face. */
  useDrawn() {
    this._videoBox.replaceChildren();
    this._videoBox.hidden = true;
    this._videos = null;
    this.mode = 'drawn';
    this.root.dataset.mode = 'drawn';
    this._svg.style.display = '';
  }

  _speakingClip() {
    return this._videos?.expressive && this._random() < 0.25 ? 'expressive' : 'talking';
  }

  _showClip(kind) {
    if (!this._videos) return;
    const show = this._videos[kind] ?? this._videos.idle;
    for (const v of Object.values(this._videos)) {
      if (v === show) {
        v.hidden = false;
        v.play().catch(() => {});
      } else {
        v.hidden = true;
        v.pause();
      }
    }
  }

  _blinkInterval() {
    return 2000 + this._random() * 4000;
  }

  /** How far ahead of an animation frame's time the sound it shows is heard, ms. */
  leadMs() {
    return this.refreshMs + FRAME_MS / 2 + this._lipSync.lagMs;
  }

  _frame(now) {
    this._raf = requestAnimationFrame(this._tick);
    const gap = now - this._lastTick;
    this._lastTick = now;
    if (gap > 3 && gap < 60) this.refreshMs += (gap - this.refreshMs) * 0.05;
    const dt = now - this._lastDraw;
    if (dt < FRAME_MS - 4) {
      this.onDrawn(now, this.drawnOpenness); // the frame on screen stays up
      return; // keep a ~33 ms cadence at any display refresh rate
    }
    this._lastDraw = now;
    const { level, bands } = this.getFeatures(now + this.leadMs());
    const { openness, viseme } = this._lipSync.update(level, bands, Math.min(dt, 100));
    if (this.mode === 'drawn') this._draw(now, openness, viseme);
    this.drawnOpenness = openness;
    this.drawnViseme = viseme;
    this.onDrawn(now, openness);
  }

  _draw(now, openness, viseme) {
    const t = (now - this._t0) / 1000;
    this._mouth.setAttribute('d', mouthPath(openness, viseme));
    // Blink: 150 ms close-open every 2–6 s.
    let lid = 1;
    if (this._blinkStart < 0 && now >= this._nextBlink) this._blinkStart = now;
    if (this._blinkStart >= 0) {
      const p = (now - this._blinkStart) / 150;
      if (p >= 1) {
        this._blinkStart = -1;
        this._nextBlink = now + this._blinkInterval();
      } else {
        lid = 1 - 0.92 * Math.sin(Math.PI * p);
      }
    }
    this._eyes.setAttribute('transform', `translate(0 ${EYE_Y}) scale(1 ${lid.toFixed(3)}) translate(0 ${-EYE_Y})`);
    // Small glances every 1.5–4.5 s; look at the user while listening or speaking.
    if (now >= this._nextGlance) {
      const engaged = this.state === 'listening' || this.state === 'speaking';
      this._glance = engaged
        ? { x: (this._random() - 0.5) * 1.5, y: 0 }
        : { x: (this._random() - 0.5) * 5, y: (this._random() - 0.6) * 2.5 };
      if (this.state === 'thinking') this._glance = { x: 3, y: -2.5 };
      this._nextGlance = now + 1500 + this._random() * 3000;
    }
    this._irises.setAttribute('transform', `translate(${this._glance.x.toFixed(2)} ${this._glance.y.toFixed(2)})`);
    // Breathing (4 s) and a slow head sway (7 s); a slight lift while talking.
    const breath = Math.sin((2 * Math.PI * t) / 4);
    const sway = Math.sin((2 * Math.PI * t) / 7) * 1.6 + Math.sin((2 * Math.PI * t) / 2.3) * 0.4;
    const bob = breath * 1.2 - openness * 1.5;
    this._head.setAttribute('transform', `translate(0 ${bob.toFixed(2)}) rotate(${sway.toFixed(2)} 120 190)`);
    this._body.setAttribute('transform', `translate(0 260) scale(1 ${(1 + breath * 0.012).toFixed(4)}) translate(0 -260)`);
    this._ring.style.strokeWidth = String(5 + (this.state === 'speaking' ? openness * 5 : 0));
  }
}
