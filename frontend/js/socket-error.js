/**
 * SocketError: why the backend socket (socket.js) gave up.
 */

/** Why the socket gave up; `code` is a protocol error code or a local one. */
export class SocketError extends Error {
  /**
   * @param {string} code e.g. 'live_refused', 'unreachable', 'stopped'
   * @param {string} message
   * @param {number|null} [closeCode]
   */
  constructor(code, message, closeCode = null) {
    super(message);
    this.name = 'SocketError';
    this.code = code;
    this.closeCode = closeCode;
  }
}
