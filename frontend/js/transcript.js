/**
 * The conversation transcript as data: one entry per (session, turn, role), kept in
 * turn order with the user's line before the model's. Pure; ui.js renders it.
 */

/**
 * @typedef {object} TranscriptEntry
 * @property {string} key unique per session, turn and role
 * @property {number} epoch session counter (a new, non-resumed session starts a new epoch)
 * @property {number} turn
 * @property {'user'|'model'} role
 * @property {string} text whole text so far
 * @property {boolean} final
 * @property {boolean} interrupted
 */

const ROLE_ORDER = { user: 0, model: 1 };

function compare(a, b) {
  return a.epoch - b.epoch || a.turn - b.turn || ROLE_ORDER[a.role] - ROLE_ORDER[b.role];
}

export class TranscriptModel {
  constructor() {
    /** @type {TranscriptEntry[]} */
    this.entries = [];
    this.epoch = 0;
    this._byKey = new Map();
  }

  /** A new (not resumed) session starts: its turn numbers start again. */
  newSession() {
    if (this.entries.length > 0) this.epoch++;
  }

  /**
   * Apply one `transcript` message.
   * @param {{role: 'user'|'model', text: string, final: boolean, turn: number}} msg
   * @returns {{entry: TranscriptEntry, index: number, created: boolean}}
   */
  apply(msg) {
    const key = `${this.epoch}:${msg.turn}:${msg.role}`; // modelKey's form for the model
    let entry = this._byKey.get(key);
    let created = false;
    if (!entry) {
      entry = { key, epoch: this.epoch, turn: msg.turn, role: msg.role, text: '', final: false, interrupted: false };
      let i = this.entries.length;
      while (i > 0 && compare(this.entries[i - 1], entry) > 0) i--;
      this.entries.splice(i, 0, entry);
      this._byKey.set(key, entry);
      created = true;
    }
    if (!entry.final || msg.final) {
      entry.text = msg.text;
      entry.final = entry.final || msg.final;
    }
    return { entry, index: this.entries.indexOf(entry), created };
  }

  /**
   * Mark the model's line of `turn` as cut off (barge-in).
   * @param {number} turn
   * @returns {TranscriptEntry|null}
   */
  interrupt(turn) {
    const entry = this._byKey.get(`${this.epoch}:${turn}:model`) ?? null;
    if (entry) entry.interrupted = true;
    return entry;
  }

  /**
   * The key of the model's line of `turn` in this session: where a grounded answer's
   * sources (the `sources` message) go, whether or not that line exists yet.
   * @param {number} turn
   * @returns {string}
   */
  modelKey(turn) {
    return `${this.epoch}:${turn}:model`;
  }

  /** Forget everything. */
  clear() {
    this.entries = [];
    this._byKey.clear();
    this.epoch = 0;
  }
}
