/**
 * The problems the page shows, all at once: a later problem never hides an earlier one
 * that still applies. Each problem has a slot (what it is about); a newer problem
 * replaces the older one of its slot only, and each slot is cleared by the event that
 * ends it (the connection's by `ready`, everything by a new Start). Pure.
 */

import { describeError } from './errors.js';

/** @typedef {'mic'|'share'|'connection'|'notice'|'audio'|'avatar'|'session'} Slot */

const SLOTS = {
  mic: ['mic_denied', 'mic_not_found', 'mic_in_use', 'mic_other'],
  share: ['camera_denied', 'screen_denied', 'share_unsupported', 'share_failed'],
  // The connection is being retried: `ready` ends these.
  connection: ['backend_unreachable', 'connection_lost', 'server_busy', 'going_away'],
  // Passing trouble inside a running session: the next transcript or turn ends these.
  notice: ['live_reconnecting', 'tool_failed'],
  audio: ['autoplay'],
  // The clips of the avatar failed and the drawn face shows: true until the next Start.
  avatar: ['avatar_clip_failed', 'avatar_native_unavailable'],
};
const SLOT_OF = new Map(Object.entries(SLOTS).flatMap(([slot, codes]) => codes.map((c) => [c, slot])));

/**
 * The slot of a problem code; anything not listed ended the session ('session').
 * @param {string} code
 * @returns {Slot}
 */
export function slotOf(code) {
  return /** @type {Slot} */ (SLOT_OF.get(code) ?? 'session');
}

/**
 * @typedef {import('./errors.js').ErrorInfo & {slot: Slot}} Problem
 */

export class ProblemStack {
  constructor() {
    /** @type {Problem[]} oldest first */
    this._items = [];
  }

  /**
   * Raise a problem; it replaces the one of its slot, if any, and leaves the others.
   * A problem that ends the session also ends the retrying of the connection: its
   * "reconnecting…" no longer applies.
   * @param {string} code
   * @param {{message?: string, url?: string, retryInMs?: number}} [extra]
   * @returns {Problem}
   */
  add(code, extra = {}) {
    const slot = slotOf(code);
    const problem = { ...describeError(code, extra), slot };
    this._items = this._items.filter((p) => p.slot !== slot && !(slot === 'session' && p.slot === 'connection'));
    this._items.push(problem);
    return problem;
  }

  /**
   * Clear the problems of these slots (all of them when none is given).
   * @param {...Slot} slots
   * @returns {boolean} whether anything was cleared
   */
  clear(...slots) {
    const before = this._items.length;
    this._items = slots.length ? this._items.filter((p) => !slots.includes(p.slot)) : [];
    return this._items.length !== before;
  }

  /**
   * Clear one problem by its code.
   * @param {string} code
   * @returns {boolean} whether it was shown
   */
  resolve(code) {
    const before = this._items.length;
    this._items = this._items.filter((p) => p.code !== code);
    return this._items.length !== before;
  }

  /** @param {string} code @returns {boolean} */
  has(code) {
    return this._items.some((p) => p.code === code);
  }

  /** @returns {Problem[]} newest first: the latest news on top, the earlier ones under it */
  get list() {
    return [...this._items].reverse();
  }

  /** @returns {Problem|null} the newest problem */
  get top() {
    return this._items.at(-1) ?? null;
  }
}
