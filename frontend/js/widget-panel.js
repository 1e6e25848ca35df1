/**
 * The widget's panel: index.html's <main> (the same controls, avatar and transcript as
 * the full page, read from the page itself so nothing is kept twice) placed in the
 * widget's shadow root, then app.js started over it with the script tag's configuration.
 * Loaded by widget.js the first time its panel opens.
 */

import { embedConfig } from '../config.js';
import { startApp } from './app.js';

/**
 * @param {HTMLElement} body the panel's body, inside the shadow root
 * @param {{base: string, attrs: Record<string, string|undefined>}} options `base` is the
 *   frontend's URL (where widget.js came from); `attrs` the script tag's data- attributes
 * @returns {Promise<import('./app.js').RunningApp>}
 */
export async function mountPanel(body, { base, attrs }) {
  const config = embedConfig(attrs);
  const res = await fetch(new URL('index.html', base), { cache: 'no-cache' });
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
