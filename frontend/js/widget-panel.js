/**
 * The widget's panel: index.html's <main> (the same controls, avatar and transcript as
 * the full page, read from the page itself so nothing is kept twice) placed in the
 * widget's shadow root, then app.js started over it with the script tag's configuration
 * and the frontend's deploy config (whether visitors sign in, and with which Firebase
 * project). Loaded by widget.js the first time its panel opens.
 */

const DEPLOY_CONFIG_TIMEOUT_MS = 3000;

/**
 * The frontend's /deploy-config.json (what the full page reads), or null when it has none
 * (local runs) or it cannot be had in time.
 * @param {string} base the frontend's URL
 * @returns {Promise<object|null>}
 */
async function deployConfig(base) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), DEPLOY_CONFIG_TIMEOUT_MS);
  try {
    const res = await fetch(new URL('deploy-config.json', base), { cache: 'no-store', signal: abort.signal });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

import { embedConfig } from '../config.js';
import { startApp } from './app.js';

/**
 * @param {HTMLElement} body the panel's body, inside the shadow root
 * @param {{base: string, attrs: Record<string, string|undefined>}} options `base` is the
 *   frontend's URL (where widget.js came from); `attrs` the script tag's data- attributes
 * @returns {Promise<import('./app.js').RunningApp>}
 */
export async function mountPanel(body, { base, attrs }) {
  const [deploy, res] = await Promise.all([
    deployConfig(base),
    fetch(new URL('index.html', base), { cache: 'no-cache' }),
  ]);
  const config = embedConfig(attrs, deploy);
  if (!res.ok) throw new Error(`index.html answered ${res.status}`);
  const page = new DOMParser().parseFromString(await res.text(), 'text/html');
  const main = page.querySelector('main');
  if (!main) throw new Error('index.html has no <main>');
  // The host page has its own <main>: the panel's content is a plain block (one main
  // landmark per page).
  const layout = document.createElement('div');
  layout.className = main.className;
  layout.append(...document.importNode(main, true).childNodes);
  body.replaceChildren(layout);
  return startApp({ root: /** @type {ShadowRoot} */ (body.getRootNode()), config });
}
