/**
 * Word timing for one spoken answer, estimated from its text and the duration of its
 * audio, so its transcript can be shown as it is heard. Pure.
 *
 * As LiveKit's transcript synchronizer does, each word gets a weight (its syllables, plus
 * a pause after punctuation) and the voice a speaking rate in seconds per unit of weight:
 * a word is shown once the playback reaches its estimated start. The estimate is re-made
 * as the answer arrives: each time its text grows, the audio received by then is taken as
 * the time the text before the new words takes to say (an anchor: the service sends the
 * transcript of what it is about to say, or just said, with the audio), words between two
 * anchors share their span, and past the last anchor the rate is what the anchors show so
 * far (or, early on, the rate learned from this session's earlier answers). Once all of
 * the answer's text and audio are in, its end is the last anchor, and the words not yet
 * shown catch up as their audio plays.
 */

/** Seconds per unit of weight before anything was learned (5 syllables a second). */
export const DEFAULT_SECONDS_PER_UNIT = 0.2;
const MIN_RATE = 0.08;
const MAX_RATE = 0.8;

/**
 * Weight of one word: its syllables (vowel groups, at least one; digits count one each)
 * plus a pause after a comma (0.5) or the end of a sentence (1).
 * @param {string} word
 * @returns {number}
 */
export function wordWeight(word) {
  const w = word.toLowerCase();
  const vowels = w.match(/[aeiouyàâäéèêëîïôöûüœæ]+/g)?.length ?? 0;
  const digits = w.match(/\d/g)?.length ?? 0;
  let weight = Math.max(1, vowels + digits);
  if (/[.!?…:;]["')\]]*$/.test(w)) weight += 1;
  else if (/[,–—-]["')\]]*$/.test(w)) weight += 0.5;
  return weight;
}

/**
 * Split text into words as the page shows them (whitespace-separated).
 * @param {string} text
 * @returns {string[]}
 */
export function splitWords(text) {
  return text.split(/\s+/).filter(Boolean);
}

export class AnswerPacer {
  /** @param {number} [secondsPerUnit] the session's learned rate */
  constructor(secondsPerUnit = DEFAULT_SECONDS_PER_UNIT) {
    this.secondsPerUnit = secondsPerUnit;
    /** @type {string[]} */
    this.words = [];
    this._starts = []; // cumulative weight before each word
    this._total = 0;
    this.audioSeconds = 0;
    this.complete = false; // all text and audio are in
    /** [units, seconds] pairs, both non-decreasing, starting at [0, 0] */
    this._anchors = [[0, 0]];
  }

  /**
   * The whole text so far (it only grows; a rewrite is taken as it is).
   * @param {string} text
   * @param {number} [audioSeconds] audio received for the answer when this text arrived
   */
  setText(text, audioSeconds = this.audioSeconds) {
    const before = this._total;
    const words = splitWords(text);
    let k = 0;
    while (k < words.length && k < this.words.length && words[k] === this.words[k]) k++;
    this.words = words;
    this._starts.length = k;
    let acc = k === 0 ? 0 : this._starts[k - 1] + wordWeight(words[k - 1]);
    for (let i = k; i < words.length; i++) {
      this._starts.push(acc);
      acc += wordWeight(words[i]);
    }
    this._total = acc;
    if (acc > before && before > 0) this._anchor(before, audioSeconds);
  }

  _anchor(units, seconds) {
    const last = this._anchors[this._anchors.length - 1];
    // Text arriving with no new audio since the last anchor (a burst of fragments) says
    // nothing new about timing.
    if (units <= last[0] || seconds <= last[1]) return;
    this._anchors.push([units, seconds]);
  }

  /**
   * @param {number} seconds audio received for this answer so far
   * @param {boolean} complete whether its text and audio are all in
   */
  setAudio(seconds, complete) {
    this.audioSeconds = seconds;
    this.complete = complete;
  }

  /** Seconds per unit of weight past the last anchor. */
  rate() {
    if (this.complete && this._total > 0 && this.audioSeconds > 0) return this.audioSeconds / this._total;
    const [units, seconds] = this._anchors[this._anchors.length - 1];
    // Enough anchored speech says more about this voice than the session's average.
    if (units >= 8 && seconds > 0) {
      const r = seconds / units;
      if (r >= MIN_RATE && r <= MAX_RATE) return r;
    }
    return this.secondsPerUnit;
  }

  /** Units of weight said by `heard` seconds into the answer. */
  unitsAt(heard) {
    const anchors = this._anchors.slice();
    if (this.complete && this._total > 0 && this.audioSeconds > 0) {
      const last = anchors[anchors.length - 1];
      if (this._total > last[0]) anchors.push([this._total, Math.max(this.audioSeconds, last[1])]);
    }
    let k = anchors.length - 1;
    while (k > 0 && anchors[k][1] > heard) k--;
    const [u0, t0] = anchors[k];
    if (k + 1 < anchors.length) {
      const [u1, t1] = anchors[k + 1];
      return t1 > t0 ? u0 + ((heard - t0) / (t1 - t0)) * (u1 - u0) : u1;
    }
    return u0 + (heard - t0) / this.rate();
  }

  /**
   * How many words have started by `heard` seconds into the answer's audio.
   * @param {number} heard
   * @returns {number}
   */
  wordsAt(heard) {
    const n = this.words.length;
    if (n === 0 || !(heard > 0)) return 0;
    if (this.complete && (this.audioSeconds <= 0 || heard >= this.audioSeconds - 0.02)) return n;
    const units = this.unitsAt(heard);
    // Words whose start is at or before `units` (starts are non-decreasing).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this._starts[mid] <= units + 1e-9) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The rate this complete answer showed, or null when it says nothing reliable. */
  measuredRate() {
    if (!this.complete || this._total < 5 || this.audioSeconds < 1) return null;
    const r = this.audioSeconds / this._total;
    return r >= MIN_RATE && r <= MAX_RATE ? r : null;
  }
}

/**
 * The session's speaking rate, learned from each complete answer (moving average).
 */
export class RateLearner {
  constructor(initial = DEFAULT_SECONDS_PER_UNIT) {
    this.secondsPerUnit = initial;
    this.samples = 0;
  }

  /** @param {number|null} rate seconds per unit of one complete answer */
  learn(rate) {
    if (rate === null || !(rate > 0)) return;
    this.samples++;
    const weight = this.samples === 1 ? 1 : 0.4;
    this.secondsPerUnit += (rate - this.secondsPerUnit) * weight;
  }
}
