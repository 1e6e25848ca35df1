/**
 * The page's own audio/video offset: for each answer, how far the drawn mouth trails (or
 * leads) the voice as heard, measured the way bench.browser_latency does it, so every
 * session reports it (with the turn, `played` message) and the dashboard can show it.
 *
 * On every animation frame the meter records the rendered level (the player's
 * AnalyserNode, i.e. the audio itself, not the clock the mouth is driven by) at the time it
 * will be heard (plus the render's lead over the output device, minus half the analyser
 * window), and the mouth drawn at the time it will be seen (plus one display refresh).
 * The offset is the lag that best aligns the two (normalised cross-correlation on a 5 ms
 * grid, refined by a parabola); positive = audio ahead of the mouth.
 */

import { levelToOpenness } from './lipsync.js';

const GRID_MS = 5;
const MAX_LAG_MS = 200;
const MAX_SAMPLES = 3600; // a minute of frames per answer

/**
 * The lag (ms) of `y` behind `x` maximising their normalised cross-correlation, or null
 * when the series are too short or flat. Times need not be evenly spaced.
 * @param {ArrayLike<number>} tx times of x, ms, increasing
 * @param {ArrayLike<number>} x
 * @param {ArrayLike<number>} ty times of y, ms, increasing
 * @param {ArrayLike<number>} y
 * @returns {number|null}
 */
export function xcorrLagMs(tx, x, ty, y) {
  if (tx.length < 8 || ty.length < 8) return null;
  const t0 = Math.max(tx[0], ty[0]);
  const t1 = Math.min(tx[tx.length - 1], ty[ty.length - 1]);
  if (t1 - t0 < 3 * MAX_LAG_MS) return null;
  const n = Math.floor((t1 - t0) / GRID_MS);
  const xs = resample(tx, x, t0, n);
  const ys = resample(ty, y, t0, n);
  if (!center(xs) || !center(ys)) return null;
  const maxLag = MAX_LAG_MS / GRID_MS;
  const scores = [];
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = Math.max(0, -lag); i < n && i + lag < n; i++) {
      const a = xs[i];
      const b = ys[i + lag];
      ab += a * b;
      aa += a * a;
      bb += b * b;
    }
    scores.push(aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0);
  }
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  let shift = 0;
  if (best > 0 && best < scores.length - 1) {
    const [l, m, r] = [scores[best - 1], scores[best], scores[best + 1]];
    const curve = l - 2 * m + r;
    if (curve < 0) shift = (0.5 * (l - r)) / curve;
  }
  return (best - maxLag + shift) * GRID_MS;
}

function resample(t, v, t0, n) {
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const at = t0 + i * GRID_MS;
    while (j < t.length - 2 && t[j + 1] < at) j++;
    const span = t[j + 1] - t[j];
    const f = span > 0 ? Math.min(1, Math.max(0, (at - t[j]) / span)) : 0;
    out[i] = v[j] + (v[j + 1] - v[j]) * f;
  }
  return out;
}

function center(a) {
  let mean = 0;
  for (let i = 0; i < a.length; i++) mean += a[i];
  mean /= a.length;
  let any = false;
  for (let i = 0; i < a.length; i++) {
    a[i] -= mean;
    if (a[i] !== 0) any = true;
  }
  return any;
}

/** Collects one answer's heard level and seen mouth; `offsetMs()` measures them. */
export class AvSyncMeter {
  constructor() {
    this.reset();
  }

  reset() {
    this._heardT = [];
    this._level = [];
    this._seenT = [];
    this._mouth = [];
  }

  /**
   * One animation frame's observation.
   * @param {number} heardAt when the rendered level will be heard, ms
   * @param {number} level RMS the analyser reads now
   * @param {number} seenAt when the mouth drawn now will be on screen, ms
   * @param {number} mouth its openness
   */
  add(heardAt, level, seenAt, mouth) {
    if (this._heardT.length >= MAX_SAMPLES) return;
    if (this._heardT.length && heardAt <= this._heardT[this._heardT.length - 1]) return;
    if (this._seenT.length && seenAt <= this._seenT[this._seenT.length - 1]) return;
    this._heardT.push(heardAt);
    this._level.push(levelToOpenness(level));
    this._seenT.push(seenAt);
    this._mouth.push(mouth);
  }

  /** @returns {number|null} ms, positive = audio ahead of the mouth */
  offsetMs() {
    // The mouth holds each drawn shape until the next one: a step, not a ramp.
    const t = [];
    const m = [];
    for (let i = 0; i < this._seenT.length; i++) {
      if (i > 0 && this._mouth[i] !== this._mouth[i - 1]) {
        t.push(this._seenT[i] - 0.01);
        m.push(this._mouth[i - 1]);
      }
      t.push(this._seenT[i]);
      m.push(this._mouth[i]);
    }
    const lag = xcorrLagMs(this._heardT, this._level, t, m);
    return lag === null ? null : Math.round(lag * 10) / 10;
  }
}
