/**
 * Full or half duplex, for phones and speakers without echo cancellation.
 *
 * Full duplex (the default): the microphone stays open while the avatar speaks and the
 * user's voice interrupts it (barge-in). Right only when the browser removes the avatar's
 * own voice from the microphone; otherwise the avatar hears itself and cuts itself off.
 * Half duplex: the microphone is closed while the avatar speaks, so its voice from a
 * speaker cannot interrupt it, and a tap interrupts instead: playback stops at once, the
 * rest of that answer is dropped, and the microphone opens. Half when the microphone
 * track reports echo cancellation off (`getSettings()`), or the user chose speakerphone
 * mode. A browser that does not say (null) is taken at its word that it cancels echo, as
 * it was asked to. Pure.
 */

export class Duplex {
  /** @param {{speakerphone?: boolean}} [options] */
  constructor({ speakerphone = false } = {}) {
    /** the user chose speakerphone mode */
    this.speakerphone = speakerphone;
    /** @type {boolean|null} what the microphone track reports; null: unknown, or no microphone yet */
    this.echoCancellation = null;
    /** a tap cut the current answer: its remaining audio is dropped until the turn ends */
    this.dropping = false;
  }

  /** @returns {boolean} */
  get half() {
    return this.speakerphone || this.echoCancellation === false;
  }

  /** @returns {'speakerphone'|'no-echo-cancellation'|null} why half duplex, null when full */
  get reason() {
    if (this.speakerphone) return 'speakerphone';
    return this.echoCancellation === false ? 'no-echo-cancellation' : null;
  }

  /**
   * @param {boolean} playing the avatar's voice is playing
   * @returns {boolean} the microphone must be closed now
   */
  holdsMic(playing) {
    return this.half && playing;
  }

  /**
   * A tap on the avatar (or the Interrupt button).
   * @param {boolean} playing
   * @returns {boolean} whether it interrupts: only in half duplex while the avatar speaks
   */
  tap(playing) {
    if (!this.half || !playing) return false;
    this.dropping = true;
    return true;
  }

  /** The answer ended (`turn_complete`) or was cut by the backend (`interrupted`). */
  turnEnded() {
    this.dropping = false;
  }
}
