/**
 * The model's transcript shown as it is heard. Pure apart from the callbacks.
 *
 * Audio frames carry no turn number, so the voice is cut into answers by what arrives
 * around it: audio after a turn's end (or a barge-in) starts a new answer, which takes
 * the turn number of the first model transcript that follows. Each answer spans stream
 * positions of the voice's clock (the PCM player's, playback-clock.js, or the native
 * avatar's video, video-clock.js); how far into it the listener is comes from that clock,
 * and its AnswerPacer turns that into words. After a barge-in the answer stops where the
 * voice stopped (the cut position) and the words heard by then are its final text. Every answer, played to its end or cut, is reported
 * once (`onHeard`), so the page can tell the backend what was heard.
 */

import { AnswerPacer, RateLearner, splitWords } from './transcript-pacer.js';

/**
 * @typedef {object} Answer
 * @property {number|null} turn
 * @property {number} start stream position of its first sample
 * @property {number} end stream position after its last sample received
 * @property {number|null} voiceStart stream position where its sound starts (null: none yet)
 * @property {number|null} voiceEnd stream position where its sound received so far ends
 * @property {number|null} cut stream position where a barge-in stopped it
 * @property {boolean} audioDone no more audio will come (turn end or barge-in)
 * @property {boolean} interrupted
 * @property {string} text the whole model transcript received
 * @property {number} heard furthest stream position heard
 * @property {number} shown words shown
 * @property {boolean} done
 * @property {AnswerPacer} pacer
 */

export class TranscriptSync {
  /**
   * @param {object} deps
   * @param {(msg: {role: 'model', text: string, final: boolean, turn: number, interrupted?: boolean}) => void} deps.show
   * @param {(turn: number, heard: {words: number, total: number, interrupted: boolean, text: string}) => void} [deps.onHeard]
   * @param {number} [deps.rate=24000] stream positions per second
   * @param {number} [deps.tailS=0.03] how much of the end of an answer the player may keep
   *   back once nothing follows it, s (the resampler's few samples)
   * @param {boolean} [deps.anchors=true] whether the voice received when a transcript
   *   arrives is the time its earlier text takes to say (transcript-pacer.js)
   */
  constructor({ show, onHeard = () => {}, rate = 24_000, tailS = 0.03, anchors = true }) {
    this._show = show;
    this._onHeard = onHeard;
    this._rate = rate;
    this._tailS = tailS;
    this._anchors = anchors;
    this._learner = new RateLearner();
    /** @type {Answer[]} */
    this.answers = [];
  }

  /**
   * A new session, or another clock: forget the answers (the learned rate stays: same
   * voice).
   * @param {{rate: number, tailS: number, anchors: boolean}} [clock] the new clock's
   *   positions per second, tail and anchors (as the constructor's)
   */
  reset(clock) {
    this.answers = [];
    if (clock) {
      this._rate = clock.rate;
      this._tailS = clock.tailS;
      this._anchors = clock.anchors;
    }
  }

  _open() {
    const a = this.answers[this.answers.length - 1];
    return a && !a.audioDone ? a : null;
  }

  _create(turn, at) {
    const a = {
      turn,
      start: at,
      end: at,
      voiceStart: null,
      voiceEnd: null,
      cut: null,
      audioDone: false,
      interrupted: false,
      text: '',
      heard: at,
      shown: 0,
      done: false,
      pacer: new AnswerPacer(this._learner.secondsPerUnit),
    };
    this.answers.push(a);
    if (this.answers.length > 32) this.answers.splice(0, this.answers.length - 32);
    return a;
  }

  _forTurn(turn, at) {
    const known = this.answers.find((a) => a.turn === turn);
    if (known) return known;
    const open = this._open();
    if (open && open.turn === null) {
      open.turn = turn;
      return open;
    }
    return this._create(turn, at);
  }

  /**
   * Audio of the model was enqueued at stream positions [start, end).
   * @param {number} start
   * @param {number} end
   * @param {{start: number, end: number}|null} [sound] the part of it that is not silence
   *   (null: none of it), when the clock can tell; an answer is paced from its first sound
   */
  audio(start, end, sound = { start, end }) {
    const a = this._open() ?? this._create(null, start);
    if (a.end === a.start && a.start !== start) a.start = a.heard = start;
    a.end = end;
    if (sound) {
      a.voiceStart ??= sound.start;
      a.voiceEnd = Math.max(a.voiceEnd ?? sound.end, sound.end);
    }
  }

  /**
   * A model `transcript` message (the whole text so far).
   * @param {{turn: number, text: string}} msg
   * @param {number} at the player's next stream position
   */
  transcript(msg, at) {
    const a = this._forTurn(msg.turn, at);
    if (a.done || a.cut !== null) return;
    a.text = msg.text;
    // Without anchors the text is paced by the rate alone (no audio: no anchor).
    a.pacer.setText(msg.text, this._anchors ? (a.end - a.start) / this._rate : 0);
  }

  /**
   * The turn ended (`turn_complete`): its text and audio are all in.
   * @param {number} turn
   * @param {number} at
   */
  turnComplete(turn, at) {
    const a = this.answers.find((x) => x.turn === turn) ?? (this._open()?.turn === null ? this._forTurn(turn, at) : null);
    if (a) a.audioDone = true;
  }

  /**
   * A barge-in cut `turn`; `flushed(position)` follows with where the voice stopped.
   * @param {number} turn
   * @param {number} at
   */
  interrupted(turn, at) {
    const a = this._forTurn(turn, at);
    a.audioDone = true;
    a.interrupted = true;
  }

  /**
   * The player dropped its queue: the voice stops at `position` (the latest cut answer
   * not yet placed, else whichever answer holds that position).
   * @param {number} position
   */
  flushed(position) {
    const a =
      [...this.answers].reverse().find((x) => x.interrupted && x.cut === null) ??
      this.answers.find((x) => !x.done && x.start <= position && position <= x.end);
    if (!a || a.cut !== null) return;
    a.cut = Math.max(a.start, Math.min(position, a.end));
    a.audioDone = true;
    a.interrupted = true; // also a cut the page made itself (a tap in half duplex)
  }

  /**
   * Bring the shown text up to what is heard.
   * @param {number} heardThrough the furthest stream position heard so far (-1: none)
   */
  update(heardThrough) {
    for (const a of this.answers) {
      if (a.done) continue;
      const stop = a.cut ?? a.end;
      a.heard = Math.max(a.heard, Math.min(heardThrough, stop));
      const complete = a.audioDone && (a.cut !== null || !a.interrupted);
      const origin = a.voiceStart ?? a.start;
      a.pacer.setAudio(Math.max(0, (a.voiceEnd ?? origin) - origin) / this._rate, complete && a.cut === null);
      const heardS = (a.heard - origin) / this._rate;
      const total = a.pacer.words.length;
      let shown = a.pacer.wordsAt(heardS);
      // The player keeps a little of the end back until more comes: that short is the end.
      const finished = complete && a.heard >= stop - this._tailS * this._rate;
      if (finished && a.cut === null) shown = total;
      if (a.turn !== null && shown > a.shown) {
        a.shown = shown;
        this._show({ role: 'model', text: splitWords(a.text).slice(0, shown).join(' '), final: false, turn: a.turn });
      }
      if (finished && a.turn !== null) this._finish(a);
    }
  }

  /** The session ends now: what was heard of each answer still playing is reported. */
  finishAll() {
    for (const a of this.answers) {
      if (!a.done && a.turn !== null && a.heard > a.start) {
        a.interrupted = true;
        this._finish(a);
      }
    }
  }

  _finish(a) {
    a.done = true;
    const words = splitWords(a.text);
    if (a.shown > 0) {
      const text = words.slice(0, a.shown).join(' ');
      this._show({ role: 'model', text, final: true, turn: a.turn, interrupted: a.interrupted });
    }
    if (a.cut === null && !a.interrupted) this._learner.learn(a.pacer.measuredRate());
    if (a.heard > a.start || words.length > 0) {
      this._onHeard(a.turn, { words: a.shown, total: words.length, interrupted: a.interrupted, text: words.slice(0, a.shown).join(' ') });
    }
  }
}
