/**
 * Firebase Authentication, loaded only when the deploy config asks for it (firebase
 * settings present and authRequired): Google sign-in on the full page, anonymous sign-in
 * (a guest account per browser) in the embeddable widget, which keeps its own Firebase app
 * so that it never replaces a page's signed-in user, and its visitor keeps the same uid
 * (and so the same quotas) across reloads of the host page. The SDK is the project's own copy of the
 * pinned npm package (frontend/vendor/firebase/, made by scripts/vendor_firebase.py): no CDN
 * at run time, and the page's `script-src 'self'` covers it.
 *
 * With `authEmulatorUrl` in the firebase settings the SDK talks to the Firebase Auth
 * emulator instead of Google (local runs and tests; deploy.sh never writes it).
 */

const SDK = new URL('../vendor/firebase/', import.meta.url);

/**
 * @typedef {object} Auth
 * @property {() => {displayName: string|null, email: string|null}|null} user
 * @property {() => Promise<void>} signIn Google popup (call from a click handler), or an
 *   anonymous sign-in for a guest
 * @property {() => Promise<void>} signOut
 * @property {(force?: boolean) => Promise<string|null>} getToken fresh Firebase ID token,
 *   or null; `force`: a new one even if the current one has time left
 * @property {(cb: (user: object|null) => void) => () => void} onChange
 */

/** The widget's Firebase app: apart from the page's default one. */
const GUEST_APP = 'liveavatar-widget';

/**
 * Why a guest (anonymous) sign-in failed, in words a visitor can act on. Pure.
 * @param {string} code the FirebaseError's `auth/...` code, '' if none
 * @returns {{code: string, message: string}} code 'guest_sign_in_failed'
 */
function guestProblem(code) {
  const reasons = {
    // The project's Anonymous provider is off (Identity Platform words it the second way).
    'auth/operation-not-allowed': 'This site\'s sign-in service does not let guests in (anonymous sign-in is switched off); tell the site\'s owner.',
    'auth/admin-restricted-operation': 'This site\'s sign-in service does not let guests in (anonymous sign-in is switched off); tell the site\'s owner.',
    'auth/network-request-failed': 'The sign-in service could not be reached; check the connection and press Start again.',
    'auth/too-many-requests': 'Too many visitors signed in from here lately; wait a minute and press Start again.',
  };
  return {
    code: 'guest_sign_in_failed',
    message: reasons[code] ?? `Signing in as a guest failed (${code || 'unknown error'}); press Start to try again.`,
  };
}

/**
 * Why a sign-in failed, in words a user can act on. Pure.
 * @param {unknown} err a FirebaseError (its `code` is `auth/...`) or anything else
 * @param {{guest?: boolean}} [options] `guest`: the widget's anonymous sign-in
 * @returns {{code: string, message: string}} code 'sign_in_cancelled', 'sign_in_failed' or
 *   'guest_sign_in_failed'
 */
export function signInProblem(err, { guest = false } = {}) {
  const code = /** @type {any} */ (err)?.code ?? '';
  if (guest) return guestProblem(code);
  if (code === 'auth/popup-closed-by-user' || code === 'auth/cancelled-popup-request') {
    return { code: 'sign_in_cancelled', message: '' };
  }
  const reasons = {
    'auth/popup-blocked': 'The browser blocked the sign-in window; allow pop-ups for this site.',
    'auth/network-request-failed': 'The sign-in service could not be reached; check the connection.',
    'auth/user-disabled': 'This account has been disabled.',
    'auth/unauthorized-domain': 'This site is not allowed to sign in with this project.',
  };
  return { code: 'sign_in_failed', message: reasons[code] ?? `Sign-in failed (${code || 'unknown error'}).` };
}

/**
 * Load the SDK and restore any existing sign-in.
 * @param {{apiKey: string, authDomain: string, projectId: string, authEmulatorUrl?: string}} firebaseConfig
 * @param {{guest?: boolean}} [options] `guest`: anonymous sign-in, in the widget's own app
 * @returns {Promise<Auth>}
 */
export async function createAuth(firebaseConfig, { guest = false } = {}) {
  const [appSdk, authSdk] = await Promise.all([
    import(new URL('firebase-app.js', SDK).href),
    import(new URL('firebase-auth.js', SDK).href),
  ]);
  const { authEmulatorUrl, ...appConfig } = firebaseConfig;
  const app = guest
    ? appSdk.getApps().find((a) => a.name === GUEST_APP) ?? appSdk.initializeApp(appConfig, GUEST_APP)
    : appSdk.initializeApp(appConfig);
  const auth = authSdk.getAuth(app);
  if (authEmulatorUrl) authSdk.connectAuthEmulator(auth, authEmulatorUrl, { disableWarnings: true });
  if (typeof auth.authStateReady === 'function') await auth.authStateReady();
  return {
    user: () => auth.currentUser,
    signIn: async () => {
      if (guest) await authSdk.signInAnonymously(auth);
      else await authSdk.signInWithPopup(auth, new authSdk.GoogleAuthProvider());
    },
    signOut: () => authSdk.signOut(auth),
    // The SDK refreshes an expired (or nearly expired) token here before handing it out.
    getToken: async (force = false) => (auth.currentUser ? auth.currentUser.getIdToken(force) : null),
    onChange: (cb) => authSdk.onAuthStateChanged(auth, cb),
  };
}
