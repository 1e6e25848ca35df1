/**
 * The full page's entry point (index.html): its configuration from the address and the
 * deploy config, then the avatar over the page's own markup.
 */

import { loadConfig } from '../config.js';
import { startApp } from './app.js';

async function main() {
  await startApp({ root: document, config: await loadConfig() });
}

main().catch((err) => {
  console.error(err);
  const banner = document.querySelector('[data-testid="error"]');
  if (banner) {
    banner.hidden = false;
    banner.querySelector('.error-body').textContent = `The page failed to load: ${err?.message ?? err}. Reload to try again.`;
  }
});
