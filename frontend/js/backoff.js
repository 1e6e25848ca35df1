/**
 * Reconnect delays: exponential backoff with a cap and symmetric jitter. Pure.
 */

/**
 * @typedef {object} BackoffOptions
 * @property {number} [baseMs=500] delay before the first retry, ms
 * @property {number} [maxMs=10000] cap before jitter is applied, ms
 * @property {number} [factor=2] growth per attempt
 * @property {number} [jitter=0.25] ± fraction of the delay drawn at random (0..1)
 */

/**
 * Delay before retry number `attempt` (0 for the first retry).
 * @param {number} attempt 0-based retry count
 * @param {BackoffOptions} [options]
 * @param {() => number} [random] uniform [0, 1) source (injectable for tests)
 * @returns {number} delay in ms, within [d·(1-jitter), d·(1+jitter)] where
 *   d = min(maxMs, baseMs·factor^attempt)
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { baseMs = 500, maxMs = 10_000, factor = 2, jitter = 0.25 } = options;
  const d = Math.min(maxMs, baseMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.max(0, Math.round(d * (1 - jitter + 2 * jitter * random())));
}
