/**
 * PCM16 <-> Float32 conversion. Pure functions, usable from the page, AudioWorklets and Node.
 *
 * Samples are mono. Int16Array uses the platform's byte order, which is little-endian on
 * every platform browsers run on; the wire format (docs/API.md) is PCM16 little-endian.
 */

/**
 * Convert one float sample (nominally -1..1) to a clamped int16 value, scaling by 32768
 * (the inverse of int16ToFloat32, so a round trip is exact to half a step).
 * NaN becomes 0; values at or beyond ±1 clip to -32768 / 32767.
 * @param {number} x
 * @returns {number} integer in [-32768, 32767]
 */
export function floatToInt16Sample(x) {
  const v = Math.round(x * 32768);
  if (v > 32767) return 32767;
  if (v < -32768) return -32768;
  return v === v ? v : 0; // NaN → 0
}

/**
 * Float32 samples → Int16 samples with clamping.
 * @param {Float32Array} input
 * @param {Int16Array} [output] written from index 0; allocated when omitted
 * @returns {Int16Array} the output
 */
export function float32ToInt16(input, output = new Int16Array(input.length)) {
  const n = Math.min(input.length, output.length);
  for (let i = 0; i < n; i++) output[i] = floatToInt16Sample(input[i]);
  return output;
}

/**
 * Int16 samples → Float32 samples in [-1, 1).
 * @param {Int16Array} input
 * @param {Float32Array} [output] written from index 0; allocated when omitted
 * @returns {Float32Array} the output
 */
export function int16ToFloat32(input, output = new Float32Array(input.length)) {
  const n = Math.min(input.length, output.length);
  for (let i = 0; i < n; i++) output[i] = input[i] / 32768;
  return output;
}

/**
 * Root-mean-square of `length` samples starting at `offset`.
 * @param {Float32Array} samples
 * @param {number} [offset]
 * @param {number} [length]
 * @returns {number} RMS, 0 for an empty range
 */
export function rms(samples, offset = 0, length = samples.length - offset) {
  if (length <= 0) return 0;
  let sum = 0;
  for (let i = offset, end = offset + length; i < end; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / length);
}
