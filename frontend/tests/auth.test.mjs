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

test('guest sign-in: a switched-off anonymous provider and a network failure each say what to do', () => {
  for (const code of ['auth/operation-not-allowed', 'auth/admin-restricted-operation']) {
    const off = signInProblem({ code }, { guest: true });
    assert.equal(off.code, 'guest_sign_in_failed');
    assert.match(off.message, /does not let guests in.*site's owner/);
  }
  const offline = signInProblem({ code: 'auth/network-request-failed' }, { guest: true });
  assert.match(offline.message, /could not be reached.*press Start again/);
  assert.match(signInProblem(new Error('x'), { guest: true }).message, /unknown error/);
  // What the visitor reads is that reason, never the Google button's advice.
  const shown = describeError('guest_sign_in_failed', { message: offline.message });
  assert.equal(shown.text, offline.message);
  assert.doesNotMatch(describeError('guests_refused').text, /Google/);
  assert.match(describeError('guests_refused').text, /microphone was not opened/);
});
