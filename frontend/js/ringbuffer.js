/**
 * Preallocated single-producer/single-consumer ring buffer of Float32 samples.
 *
 * Used inside the playback AudioWorklet: `push` runs when a chunk arrives, `pull` runs
 * in `process()` and never allocates. Overflow policy: `push` writes what fits and drops
 * the rest of the block (newest samples), returning how many it wrote.
 */
export class FloatRingBuffer {
  /** @param {number} capacity samples */
  constructor(capacity) {
    if (!(capacity >= 1) || capacity % 1) throw new RangeError(`bad capacity ${capacity}`);
    this._data = new Float32Array(capacity);
    this._read = 0;
    this._count = 0;
  }

  /** @returns {number} total capacity, samples */
  get capacity() {
    return this._data.length;
  }

  /** @returns {number} samples ready to pull */
  get available() {
    return this._count;
  }

  /** @returns {number} samples that can be pushed without dropping */
  get free() {
    return this._data.length - this._count;
  }

  /**
   * Append samples; what does not fit is dropped.
   * @param {Float32Array} src
   * @param {number} [offset=0] first index of `src` to copy
   * @param {number} [length] samples to copy (default: the rest of `src`)
   * @returns {number} samples written
   */
  push(src, offset = 0, length = src.length - offset) {
    const cap = this._data.length;
    const n = Math.min(length, cap - this._count);
    if (n <= 0) return 0;
    const write = (this._read + this._count) % cap;
    const first = Math.min(n, cap - write);
    this._data.set(src.subarray(offset, offset + first), write);
    if (n > first) this._data.set(src.subarray(offset + first, offset + n), 0);
    this._count += n;
    return n;
  }

  /**
   * Move up to `length` samples into `dst`. Entries of `dst` past the returned count are
   * left untouched (the caller decides whether to zero them). No allocation.
   * @param {Float32Array} dst
   * @param {number} [offset=0] first index of `dst` to write
   * @param {number} [length] samples wanted (default: the rest of `dst`)
   * @returns {number} samples pulled (less than `length` on underrun)
   */
  pull(dst, offset = 0, length = dst.length - offset) {
    const cap = this._data.length;
    const n = Math.min(length, this._count);
    const data = this._data;
    let r = this._read;
    for (let i = 0; i < n; i++) {
      dst[offset + i] = data[r];
      if (++r === cap) r = 0;
    }
    this._read = r;
    this._count -= n;
    return n;
  }

  /** Drop everything buffered. */
  clear() {
    this._read = 0;
    this._count = 0;
  }
}
