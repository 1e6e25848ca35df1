/**
 * Firebase Authentication (Google sign-in), loaded from the Firebase CDN only when the
 * deploy config asks for it (firebase settings present and authRequired). Never loaded
 * on localhost by default.
 */

/** Firebase JS SDK version served from gstatic. */
export const FIREBASE_SDK_VERSION = '10.12.2';
const CDN = `https://www.gstatic.com/firebasejs/${FIREBASE_SDK_VERSION}`;

/**
 * @typedef {object} Auth
 * @property {() => {displayName: string|null, email: string|null}|null} user
 * @property {() => Promise<void>} signIn Google popup; call from a click handler
 * @property {() => Promise<void>} signOut
 * @property {() => Promise<string|null>} getToken fresh Firebase ID token, or null
 * @property {(cb: (user: object|null) => void) => () => void} onChange
 */

/**
 * Load the SDK and restore any existing sign-in.
 * @param {{apiKey: string, authDomain: string, projectId: string}} firebaseConfig
 * @returns {Promise<Auth>}
 */
export async function createAuth(firebaseConfig) {
  const [appSdk, authSdk] = await Promise.all([
    import(`${CDN}/firebase-app.js`),
    import(`${CDN}/firebase-auth.js`),
  ]);
  const app = appSdk.initializeApp(firebaseConfig);
  const auth = authSdk.getAuth(app);
  if (typeof auth.authStateReady === 'function') await auth.authStateReady();
  return {
    user: () => auth.currentUser,
    signIn: async () => {
      await authSdk.signInWithPopup(auth, new authSdk.GoogleAuthProvider());
    },
    signOut: () => authSdk.signOut(auth),
    getToken: async () => (auth.currentUser ? auth.currentUser.getIdToken() : null),
    onChange: (cb) => authSdk.onAuthStateChanged(auth, cb),
  };
}
