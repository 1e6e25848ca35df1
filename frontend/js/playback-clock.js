/**
 * The playback clock: which of the samples sent to the playback worklet is being heard
 * at a given moment. Pure (no audio APIs) apart from `heardContextTime`.
 *
 * The worklet reports, for every render quantum that output audio, the context frame it
 * started at, the stream position of its first sample and how many samples it played
 * (playback-processor.js, `played`). A stream position counts the player's input samples
 * (24 kHz) since it started: the n-th sample ever enqueued is position n, flushed or not,
 * so positions say which turn's audio and which word of it is meant, across barge-ins and
 * turn boundaries. The page maps "now" to the context frame being heard (the output
 * device's timestamp, or the render time minus the context's base and output latency),
 * and that frame to a stream position here.
 */

/**
 * The context time (s) of the sample the listener hears at `perfNow` (a performance.now()
 * value). Chromium's getOutputTimestamp() already accounts for the base and output
 * latency (its contextTime trails currentTime by baseLatency + outputLatency); without
 * it, currentTime minus those latencies.
 * @param {BaseAudioContext & {getOutputTimestamp?: Function, baseLatency?: number, outputLatency?: number}} ctx
 * @param {number} perfNow ms
 * @returns {number} seconds
 */
export function heardContextTime(ctx, perfNow) {
  const ts = typeof ctx.getOutputTimestamp === 'function' ? ctx.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0 && ts.contextTime > 0) {
    return ts.contextTime + (perfNow - ts.performanceTime) / 1000;
  }
  return ctx.currentTime - (ctx.baseLatency || 0) - (ctx.outputLatency || 0);
}

export class PlaybackClock {
  /**
   * @param {object} options
   * @param {number} options.sampleRate context rate, Hz
   * @param {number} [options.inputRate=24000] rate of the stream positions, Hz
   * @param {number} [options.capacity=1024] quanta remembered (≈ 2.7 s at 48 kHz)
   */
  constructor({ sampleRate, inputRate = 24_000, capacity = 1024 }) {
    this.sampleRate = sampleRate;
    this.ratio = inputRate / sampleRate; // stream positions per context frame
    this._rec = new Float64Array(capacity * 3);
    this._cap = capacity;
    this._n = 0; // records held
    this._head = 0; // index of the oldest record
  }

  /** Forget everything (the graph was rebuilt). */
  reset() {
    this._n = 0;
    this._head = 0;
  }

  /**
   * Add the worklet's report of played quanta ([frame, position, count] triples, in
   * rendering order).
   * @param {ArrayLike<number>} triples
   */
  add(triples) {
    for (let i = 0; i + 2 < triples.length; i += 3) {
      const slot = ((this._head + this._n) % this._cap) * 3;
      this._rec[slot] = triples[i];
      this._rec[slot + 1] = triples[i + 1];
      this._rec[slot + 2] = triples[i + 2];
      if (this._n < this._cap) this._n++;
      else this._head = (this._head + 1) % this._cap;
    }
  }

  /** @returns {{frame: number, position: number, count: number}|null} the newest record */
  latest() {
    if (this._n === 0) return null;
    const slot = ((this._head + this._n - 1) % this._cap) * 3;
    return { frame: this._rec[slot], position: this._rec[slot + 1], count: this._rec[slot + 2] };
  }

  /**
   * The furthest stream position played by context `frame` (the end of what was played
   * before it, through silences), or -1 before anything was played.
   * @param {number} frame
   * @returns {number}
   */
  playedThrough(frame) {
    const k = this._find(frame);
    if (k < 0) return -1;
    const s = ((this._head + k) % this._cap) * 3;
    const into = Math.min(frame - this._rec[s], this._rec[s + 2]);
    return this._rec[s + 1] + Math.max(0, into) * this.ratio;
  }

  /** Index (oldest = 0) of the last record starting at or before `frame`, or -1. */
  _find(frame) {
    if (this._n === 0) return -1;
    const at = (k) => ((this._head + k) % this._cap) * 3;
    if (frame < this._rec[at(0)]) return -1;
    let lo = 0;
    let hi = this._n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this._rec[at(mid)] <= frame) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The stream position played at context `frame`, or null when silence was (or, past
   * the newest record, is assumed to be) played then.
   * @param {number} frame context frame (may be fractional)
   * @param {number} [extrapolate=0] frames past the newest record's end for which playback
   *   is assumed to go on (what the worklet still holds, while it is playing)
   * @returns {number|null}
   */
  positionAt(frame, extrapolate = 0) {
    const k = this._find(frame);
    if (k < 0) return null;
    const s = ((this._head + k) % this._cap) * 3;
    const count = this._rec[s + 2];
    const into = frame - this._rec[s];
    const last = k === this._n - 1;
    if (into < count || (last && count > 0 && into < count + extrapolate)) {
      return this._rec[s + 1] + into * this.ratio;
    }
    return null;
  }
}
