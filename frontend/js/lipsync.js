/**
 * Lip-sync: turn the level and coarse spectrum of the audio being played into a mouth
 * openness (0..1) and a viseme. Pure (no DOM, no audio APIs) so it is unit-testable.
 *
 * Visemes: 'closed' (rest), 'M' (lips pressed right after sound), 'A' (open), 'E' (wide,
 * teeth: high-frequency energy such as /i/, /s/), 'O' (round: energy concentrated low).
 */

/** @typedef {'closed'|'M'|'A'|'E'|'O'} Viseme */
/** @typedef {{low: number, mid: number, high: number}} Bands band energies (any linear unit) */

export const VISEMES = Object.freeze(['closed', 'M', 'A', 'E', 'O']);

/** Openness below which the mouth is drawn shut. */
export const CLOSED_BELOW = 0.06;

/**
 * Map an RMS level to a target openness on a dB scale. Monotonic non-decreasing.
 * @param {number} level RMS of the output, linear full scale (0..1)
 * @param {object} [range]
 * @param {number} [range.floorDb=-50] level (dBFS) at and below which the mouth is shut
 * @param {number} [range.fullDb=-16] level (dBFS) at and above which it is fully open
 * @returns {number} 0..1
 */
export function levelToOpenness(level, { floorDb = -50, fullDb = -16 } = {}) {
  if (!(level > 0)) return 0;
  const db = 20 * Math.log10(level);
  const x = (db - floorDb) / (fullDb - floorDb);
  return x <= 0 ? 0 : x >= 1 ? 1 : x;
}

/**
 * Pick a viseme from the openness and the band energies (no memory).
 * @param {number} openness 0..1
 * @param {Bands|null} [bands] low ≈150–900 Hz, mid ≈900–2500 Hz, high ≈2500–6000 Hz
 * @returns {Viseme}
 */
export function classifyViseme(openness, bands) {
  if (openness < CLOSED_BELOW) return 'closed';
  if (!bands) return 'A';
  const total = bands.low + bands.mid + bands.high;
  if (!(total > 0)) return 'A';
  if (bands.high / total > 0.35) return 'E';
  if (bands.low / total > 0.72) return 'O';
  return 'A';
}

/**
 * Smoothed lip-sync state: fast attack, slower release, so the mouth snaps open on a
 * syllable and relaxes between them instead of flickering at the frame rate.
 */
export class LipSync {
  /**
   * @param {object} [options]
   * @param {number} [options.attackMs=20] time constant while opening, ms
   * @param {number} [options.releaseMs=80] time constant while closing, ms
   * @param {number} [options.lagMs=21] how far the smoothing delays the mouth: the caller
   *   asks for the features that much ahead (the playback clock knows them)
   * @param {number} [options.pressMs=120] how long 'M' shows after the mouth closes, ms
   * @param {number} [options.floorDb=-50] see levelToOpenness
   * @param {number} [options.fullDb=-16] see levelToOpenness
   */
  constructor({ attackMs = 20, releaseMs = 80, lagMs = 21, pressMs = 120, floorDb = -50, fullDb = -16 } = {}) {
    this.attackMs = attackMs;
    this.releaseMs = releaseMs;
    this.lagMs = lagMs;
    this.pressMs = pressMs;
    this._range = { floorDb, fullDb };
    this.reset();
  }

  /** Close the mouth at once. */
  reset() {
    /** smoothed openness, 0..1 */
    this.openness = 0;
    /** @type {Viseme} */
    this.viseme = 'closed';
    this._sinceOpenMs = Infinity;
  }

  /**
   * Advance by `dtMs` with the current audio features.
   * @param {number} level RMS of the output, 0..1
   * @param {Bands|null} bands band energies, or null
   * @param {number} dtMs time since the previous update, ms
   * @returns {{openness: number, viseme: Viseme}}
   */
  update(level, bands, dtMs) {
    const target = levelToOpenness(level, this._range);
    const dt = Math.max(0, Math.min(dtMs, 250));
    const tau = target > this.openness ? this.attackMs : this.releaseMs;
    const alpha = 1 - Math.exp(-dt / tau);
    this.openness += (target - this.openness) * alpha;
    if (this.openness < 1e-4) this.openness = 0;
    let viseme = classifyViseme(this.openness, bands);
    if (viseme === 'closed') {
      this._sinceOpenMs += dt;
      if (this._sinceOpenMs < this.pressMs) viseme = 'M';
    } else if (this.openness > 0.25) {
      this._sinceOpenMs = 0;
    }
    this.viseme = viseme;
    return { openness: this.openness, viseme };
  }
}
