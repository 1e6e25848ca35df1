import assert from 'node:assert/strict';
import { test } from 'node:test';

import { signInProblem } from '../js/auth.js';
import { describeError } from '../js/errors.js';

test('sign-in: a closed popup is a cancellation, other failures say why', () => {
  assert.equal(signInProblem({ code: 'auth/popup-closed-by-user' }).code, 'sign_in_cancelled');
  const blocked = signInProblem({ code: 'auth/popup-blocked' });
  assert.equal(blocked.code, 'sign_in_failed');
  assert.match(blocked.message, /pop-ups/);
  assert.match(signInProblem({ code: 'auth/weird' }).message, /auth\/weird/);
  assert.match(signInProblem(new Error('x')).message, /unknown error/);
  const shown = describeError('sign_in_failed', { message: blocked.message });
  assert.match(shown.text, /pop-ups.*Sign in with Google/);
});

test('sign-in: the server refusing a token shows its reason and the next step', () => {
  const info = describeError('unauthorized', { message: 'this account is disabled' });
  assert.equal(info.text, 'The server refused the sign-in: this account is disabled. Sign in again and press Start.');
  assert.equal(describeError('unauthorized').text, 'Please sign in and press Start again.');
});
