/**
 * The avatar's recent voice by stream position (see playback-clock.js), kept by the page
 * beside what it sends to the playback worklet, so the mouth can follow the envelope of
 * exactly the samples being heard (and the few just around them), not of what an
 * analyser saw when the audio was rendered. Pure; no allocation per query.
 */

/** Band edges for lip-sync, Hz (as lipsync.js's classifier expects). */
export const BANDS = Object.freeze({ low: [150, 900], mid: [900, 2500], high: [2500, 6000] });

const DFT_N = 512; // ≈ 21 ms at 24 kHz

export class VoiceHistory {
  /**
   * @param {object} [options]
   * @param {number} [options.rate=24000] Hz
   * @param {number} [options.seconds=12] history kept
   */
  constructor({ rate = 24_000, seconds = 12 } = {}) {
    this.rate = rate;
    this._data = new Int16Array(Math.round(rate * seconds));
    /** stream position of the next sample to be added (samples added so far) */
    this.end = 0;
    this._win = new Float32Array(DFT_N);
    for (let i = 0; i < DFT_N; i++) this._win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (DFT_N - 1));
    this._buf = new Float32Array(DFT_N);
    const binHz = rate / DFT_N;
    this._bands = Object.entries(BANDS).map(([name, [lo, hi]]) => ({
      name,
      a: Math.max(1, Math.floor(lo / binHz)),
      b: Math.min(DFT_N / 2 - 1, Math.ceil(hi / binHz)),
    }));
    this._cos = new Float32Array(DFT_N);
    this._sin = new Float32Array(DFT_N);
    for (let i = 0; i < DFT_N; i++) {
      this._cos[i] = Math.cos((2 * Math.PI * i) / DFT_N);
      this._sin[i] = Math.sin((2 * Math.PI * i) / DFT_N);
    }
  }

  /**
   * Append PCM16 samples (they get the next stream positions).
   * @param {Int16Array} pcm
   */
  push(pcm) {
    const cap = this._data.length;
    let src = pcm;
    if (src.length > cap) src = src.subarray(src.length - cap);
    const skipped = pcm.length - src.length;
    const w = (this.end + skipped) % cap;
    const first = Math.min(src.length, cap - w);
    this._data.set(src.subarray(0, first), w);
    if (first < src.length) this._data.set(src.subarray(first), 0);
    this.end += pcm.length;
  }

  /** Whether the sample at stream position `pos` is held. */
  has(pos) {
    return pos >= 0 && pos < this.end && pos >= this.end - this._data.length;
  }

  _at(pos) {
    return this.has(pos) ? this._data[pos % this._data.length] / 32768 : 0;
  }

  /**
   * RMS (0..1) of the samples in [pos - half, pos + half).
   * @param {number} pos stream position (fractional allowed)
   * @param {number} [halfMs=10]
   */
  level(pos, halfMs = 10) {
    const half = Math.round((this.rate * halfMs) / 1000);
    const c = Math.floor(pos);
    let sum = 0;
    for (let i = c - half; i < c + half; i++) {
      const v = this._at(i);
      sum += v * v;
    }
    return Math.sqrt(sum / (2 * half));
  }

  /**
   * Energies of the lip-sync bands in a Hann window centred on `pos` (a direct DFT over
   * the bins the bands span: cheap at one call per drawn frame).
   * @param {number} pos
   * @returns {{low: number, mid: number, high: number}}
   */
  bands(pos) {
    const buf = this._buf;
    const start = Math.floor(pos) - DFT_N / 2;
    for (let i = 0; i < DFT_N; i++) buf[i] = this._at(start + i) * this._win[i];
    const out = { low: 0, mid: 0, high: 0 };
    for (const { name, a, b } of this._bands) {
      let e = 0;
      for (let k = a; k <= b; k++) {
        let re = 0;
        let im = 0;
        for (let i = 0, idx = 0; i < DFT_N; i++, idx = (idx + k) % DFT_N) {
          re += buf[i] * this._cos[idx];
          im -= buf[i] * this._sin[idx];
        }
        e += re * re + im * im;
      }
      out[name] = e;
    }
    return out;
  }
}
