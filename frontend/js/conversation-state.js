/**
 * The conversation's visible state and the hint shown beside it, derived from what the
 * Conversation knows (conversation.js). Pure.
 *
 * States: idle → connecting → listening ⇄ thinking ⇄ speaking, reconnecting on drops,
 * error after a fatal problem.
 */

/**
 * @typedef {object} StateInputs
 * @property {boolean} failed a fatal problem ended the conversation
 * @property {boolean} running between Start and Stop
 * @property {string|null} socket the socket's state (socket.js); null: no socket yet
 * @property {boolean} speaking the avatar's voice is playing
 * @property {boolean} awaiting the user finished; no reply audio playing yet
 * @property {boolean} micAvailable
 * @property {boolean} userMuted
 * @property {'ptt'|'handsfree'} mode
 * @property {boolean} talkHeld the push-to-talk key or button is held
 * @property {boolean} halfDuplex a tap interrupts the avatar (duplex.js)
 */

/**
 * @param {StateInputs} s
 * @returns {{state: string, hint: string, interruptible: boolean}}
 */
export function visibleState(s) {
  let state;
  if (s.failed) state = 'error';
  else if (!s.running) state = 'idle';
  else if (!s.socket || s.socket === 'idle' || s.socket === 'connecting') state = 'connecting';
  else if (s.socket === 'reconnecting') state = 'reconnecting';
  else if (s.speaking) state = 'speaking';
  else if (s.awaiting) state = 'thinking';
  else state = 'listening';
  let hint = '';
  if (state === 'listening') {
    if (!s.micAvailable) hint = 'Type a message below';
    else if (s.userMuted) hint = 'Muted';
    else if (s.mode === 'ptt') hint = s.talkHeld ? 'Listening' : 'Hold Space to talk';
  }
  const interruptible = state === 'speaking' && s.halfDuplex;
  if (interruptible) hint = 'Speaking · tap to interrupt';
  return { state, hint, interruptible };
}
