/**
 * Streaming band-limited resampler (Kaiser-windowed sinc) for mono Float32 audio.
 *
 * Pure and allocation-free in steady state, so it runs inside AudioWorklets (capture:
 * context rate → 16 kHz; playback: 24 kHz → context rate) and under Node for tests.
 * State (the last few input samples and the fractional read position) is kept across
 * calls, so feeding a signal in blocks of any size gives the same output as feeding it in
 * one piece. The read position is an exact integer/fraction pair, so it never drifts.
 */

const TABLE_RES = 128; // kernel table points per input sample
const KAISER_BETA = 7; // about -70 dB side lobes

/** Modified Bessel function of the first kind, order 0 (series; enough for beta ≤ 20). */
function besselI0(x) {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/**
 * Streaming resampler from `inRate` to `outRate`.
 *
 * Latency is `halfWidth` input samples (≈0.5 ms for 44.1 kHz → 16 kHz, ≈0.4 ms for
 * 24 kHz → 44.1 kHz). Equal rates pass samples through unchanged with no latency.
 */
export class StreamingResampler {
  /**
   * @param {number} inRate input sample rate in Hz (integer)
   * @param {number} outRate output sample rate in Hz (integer)
   * @param {object} [options]
   * @param {number} [options.zeroCrossings=8] sinc lobes on each side (quality vs cost)
   * @param {number} [options.rolloff=0.92] cutoff as a fraction of the lower Nyquist
   * @param {number} [options.maxBlock=2048] largest expected input block, in samples
   *   (a larger block still works; the internal buffer grows once)
   */
  constructor(inRate, outRate, { zeroCrossings = 8, rolloff = 0.92, maxBlock = 2048 } = {}) {
    if (!(inRate > 0 && outRate > 0) || inRate % 1 || outRate % 1) {
      throw new RangeError(`sample rates must be positive integers (got ${inRate}, ${outRate})`);
    }
    /** @readonly input rate, Hz */
    this.inRate = inRate;
    /** @readonly output rate, Hz */
    this.outRate = outRate;
    /** @readonly true when the rates are equal and samples are copied */
    this.passthrough = inRate === outRate;
    const fc = 0.5 * Math.min(1, outRate / inRate) * rolloff; // cycles per input sample
    /** @readonly kernel half-width, in input samples */
    this.halfWidth = this.passthrough ? 0 : Math.ceil(zeroCrossings / (2 * fc));
    const half = this.halfWidth;
    this._table = new Float32Array(half * TABLE_RES + 2);
    const i0Beta = besselI0(KAISER_BETA);
    for (let k = 0; k < half * TABLE_RES; k++) {
      const d = k / TABLE_RES;
      const x = 2 * fc * d;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = d / half;
      this._table[k] = 2 * fc * sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta);
    }
    this._buf = new Float32Array(2 * half + maxBlock + 4);
    this.reset();
  }

  /** Forget all history: the next sample is treated as the start of a new signal. */
  reset() {
    const half = this.halfWidth;
    this._buf.fill(0);
    this._len = half; // `half` zeros of history, so output 0 lines up with input 0
    this._ipos = half; // integer part of the read position, in buffer samples
    this._frac = 0; // fractional part, as a numerator over outRate
  }

  /**
   * Upper bound on the samples one `process` call can produce.
   * @param {number} inputLength input samples
   * @returns {number} output samples
   */
  maxOutput(inputLength) {
    return Math.ceil(((inputLength + 1) * this.outRate) / this.inRate) + 2;
  }

  /**
   * Resample one block.
   * @param {Float32Array} input samples at `inRate`
   * @param {Float32Array} output room for at least `maxOutput(input.length)` samples
   * @returns {number} samples written to `output` (from index 0)
   */
  process(input, output) {
    if (this.passthrough) {
      const n = Math.min(input.length, output.length);
      output.set(n === input.length ? input : input.subarray(0, n));
      return n;
    }
    if (this._len + input.length > this._buf.length) {
      const grown = new Float32Array(this._len + input.length + 2 * this.halfWidth + 4);
      grown.set(this._buf.subarray(0, this._len));
      this._buf = grown;
    }
    this._buf.set(input, this._len);
    this._len += input.length;
    return this._drain(output);
  }

  /**
   * Emit the last `halfWidth` input samples still held back (pads with zeros) and reset.
   * @param {Float32Array} output room for at least `maxOutput(halfWidth)` samples
   * @returns {number} samples written
   */
  flush(output) {
    if (this.passthrough) return 0;
    const n = this.process(new Float32Array(this.halfWidth), output);
    this.reset();
    return n;
  }

  _drain(output) {
    const buf = this._buf;
    const table = this._table;
    const half = this.halfWidth;
    const inRate = this.inRate;
    const outRate = this.outRate;
    const limit = output.length;
    let ipos = this._ipos;
    let frac = this._frac;
    let n = 0;
    while (ipos + half < this._len && n < limit) {
      const t = frac / outRate; // 0 <= t < 1
      let acc = 0;
      let wsum = 0;
      // taps i = ipos-half+1 .. ipos+half; distance d = |i - (ipos + t)|
      for (let j = -half + 1; j <= half; j++) {
        let d = j - t;
        if (d < 0) d = -d;
        const x = d * TABLE_RES;
        const k = x | 0;
        if (k >= half * TABLE_RES) continue;
        const a = table[k];
        const w = a + (table[k + 1] - a) * (x - k);
        acc += w * buf[ipos + j];
        wsum += w;
      }
      output[n++] = wsum !== 0 ? acc / wsum : 0;
      frac += inRate;
      if (frac >= outRate) {
        const whole = Math.floor(frac / outRate);
        ipos += whole;
        frac -= whole * outRate;
      }
    }
    // Keep only the history the next output needs.
    const drop = Math.min(ipos - half, this._len);
    if (drop > 0) {
      buf.copyWithin(0, drop, this._len);
      this._len -= drop;
      ipos -= drop;
    }
    this._ipos = ipos;
    this._frac = frac;
    return n;
  }
}

/**
 * One-shot convenience wrapper (allocates; for tests and offline use, not for worklets).
 * @param {Float32Array} input samples at `inRate`
 * @param {number} inRate Hz
 * @param {number} outRate Hz
 * @returns {Float32Array} samples at `outRate`, including the flushed tail
 */
export function resample(input, inRate, outRate) {
  const r = new StreamingResampler(inRate, outRate, { maxBlock: input.length });
  const out = new Float32Array(r.maxOutput(input.length) + r.maxOutput(r.halfWidth));
  let n = r.process(input, out);
  n += r.flush(out.subarray(n));
  return out.slice(0, n);
}
