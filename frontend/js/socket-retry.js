/**
 * What the backend socket (socket.js) does when its connection closes: give up, with the
 * SocketError to report, or reconnect, after how long and why. Pure.
 */

import { backoffDelay } from './backoff.js';
import { CLOSE_CODE_ERRORS, reconnectPlan } from './messages.js';
import { SocketError } from './socket-error.js';

/** A session that lived this long (ms) resets the retry count. */
export const STABLE_SESSION_MS = 10_000;

/**
 * @typedef {object} ClosedConnection
 * @property {number} code the close code
 * @property {string} reason the close reason
 * @property {boolean} wasOpen the session was running (after `ready`)
 * @property {object|null} fatal the fatal `error` message received on it, if any
 * @property {object|null} goingAway the `going_away` message received on it, if any
 * @property {number} attempt consecutive failed connects before this close
 */

/**
 * @typedef {object} RetryOptions
 * @property {number} maxAttempts consecutive failed connects before giving up
 * @property {import('./backoff.js').BackoffOptions} backoff
 * @property {() => number} random [0,1) source for jitter
 * @property {string} url the backend's URL, named when it cannot be reached
 */

/**
 * @param {ClosedConnection} closed
 * @param {RetryOptions} options
 * @returns {{error: SocketError} | {delayMs: number, attempt: number, reason: string}}
 *   the error to give up with, or the reconnect: its delay, the attempt count from then
 *   on, and why ('renew', 'going_away', 'dropped' or 'unreachable')
 */
export function afterClose(closed, options) {
  const { code, reason, wasOpen, fatal, goingAway, attempt } = closed;
  if (fatal) return { error: new SocketError(fatal.code, fatal.message, code) };
  const plan = reconnectPlan(code, { wasOpen, goingAway: !!goingAway });
  if (plan === 'never') {
    const errCode = CLOSE_CODE_ERRORS[code] ?? 'closed';
    return { error: new SocketError(errCode, reason || `The connection was closed (${code}).`, code) };
  }
  if (plan === 'now') return { delayMs: 0, attempt: 0, reason: 'renew' };
  if (plan === 'after_going_away') {
    const delayMs = goingAway.reconnect_after_ms + Math.round(options.random() * 250);
    return { delayMs, attempt: 0, reason: 'going_away' };
  }
  if (attempt >= options.maxAttempts) {
    const msg = wasOpen ? 'The connection to the server was lost.' : `Cannot reach ${options.url}.`;
    return { error: new SocketError('unreachable', msg, code) };
  }
  const delayMs = backoffDelay(attempt, options.backoff, options.random);
  return { delayMs, attempt: attempt + 1, reason: wasOpen ? 'dropped' : 'unreachable' };
}
