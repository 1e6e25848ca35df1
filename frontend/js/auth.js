/**
 * Firebase Authentication (Google sign-in), loaded only when the deploy config asks for it
 * (firebase settings present and authRequired). The SDK is the project's own copy of the
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
 * @property {() => Promise<void>} signIn Google popup; call from a click handler
 * @property {() => Promise<void>} signOut
 * @property {() => Promise<string|null>} getToken fresh Firebase ID token, or null
 * @property {(cb: (user: object|null) => void) => () => void} onChange
 */

/**
 * Why a sign-in failed, in words a user can act on. Pure.
 * @param {unknown} err a FirebaseError (its `code` is `auth/...`) or anything else
 * @returns {{code: string, message: string}} code 'sign_in_cancelled' or 'sign_in_failed'
 */
export function signInProblem(err) {
  const code = /** @type {any} */ (err)?.code ?? '';
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
 * @returns {Promise<Auth>}
 */
export async function createAuth(firebaseConfig) {
  const [appSdk, authSdk] = await Promise.all([
    import(new URL('firebase-app.js', SDK).href),
    import(new URL('firebase-auth.js', SDK).href),
  ]);
  const { authEmulatorUrl, ...appConfig } = firebaseConfig;
  const app = appSdk.initializeApp(appConfig);
  const auth = authSdk.getAuth(app);
  if (authEmulatorUrl) authSdk.connectAuthEmulator(auth, authEmulatorUrl, { disableWarnings: true });
  if (typeof auth.authStateReady === 'function') await auth.authStateReady();
  return {
    user: () => auth.currentUser,
    signIn: async () => {
      await authSdk.signInWithPopup(auth, new authSdk.GoogleAuthProvider());
    },
    signOut: () => authSdk.signOut(auth),
    // The SDK refreshes an expired (or nearly expired) token here before handing it out.
    getToken: async () => (auth.currentUser ? auth.currentUser.getIdToken() : null),
    onChange: (cb) => authSdk.onAuthStateChanged(auth, cb),
  };
}
