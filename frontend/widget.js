/**
 * The avatar on any website. A site owner adds one line to a page:
 *
 *   <script src="https://<frontend>/widget.js" data-backend="wss://<backend>/ws" async></script>
 *
 * and gets a floating button that opens the avatar in a panel. Everything lives in a
 * shadow root (no style leaks either way); the panel is index.html's own markup and the
 * full page's own modules (js/widget-panel.js → js/app.js), fetched from this script's
 * origin the first time the panel opens. Closing the panel ends the conversation
 * (microphone released, socket closed). The backend's ALLOWED_ORIGINS decides which sites
 * may talk to it; docs/EMBED.md has the details.
 *
 * A classic script (not a module) so that the one-line snippet works as written.
 */
(() => {
  const script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || window.__liveavatarWidget) return;
  const base = new URL('.', script.src).href;
  const attrs = { ...script.dataset };
  const title = attrs.title || 'Live Avatar';

  const host = document.createElement('liveavatar-widget');
  const shadow = host.attachShadow({ mode: 'open' });
  const link = (name) => Object.assign(document.createElement('link'), { rel: 'stylesheet', href: base + name });
  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'launcher';
  launcher.dataset.testid = 'widget-open';
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'liveavatar-panel');
  launcher.setAttribute('aria-label', `Talk with ${title}`);
  launcher.title = `Talk with ${title}`;
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.5 6.1L5 21l4.2-2.3c.9.2 1.8.3 2.8.3 5.5 0 10-3.6 10-8s-4.5-8-10-8Z"/></svg>';
  const panel = document.createElement('section');
  panel.className = 'panel';
  panel.id = 'liveavatar-panel';
  panel.dataset.testid = 'widget-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-labelledby', 'liveavatar-title');
  panel.hidden = true;
  const bar = document.createElement('div');
  bar.className = 'panel-bar';
  const heading = Object.assign(document.createElement('h2'), { className: 'panel-title', id: 'liveavatar-title', textContent: title });
  const close = Object.assign(document.createElement('button'), { type: 'button', className: 'close', textContent: '×' });
  close.dataset.testid = 'widget-close';
  close.setAttribute('aria-label', `Close ${title}`);
  const body = Object.assign(document.createElement('div'), { className: 'panel-body' });
  bar.append(heading, close);
  panel.append(bar, body);
  shadow.append(link('styles.css'), link('widget.css'), launcher, panel);

  let mounted = null; // Promise of js/widget-panel.js's mount

  const focusInside = () => {
    const target = shadow.querySelector('[data-testid="start"]:not(:disabled)') ?? close;
    target.focus();
  };

  const open = () => {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    mounted ??= import(`${base}js/widget-panel.js`).then((m) => m.mountPanel(body, { base, attrs }));
    mounted.then(focusInside, (err) => {
      body.replaceChildren(
        Object.assign(document.createElement('p'), {
          className: 'panel-message',
          textContent: `The avatar could not load: ${err?.message ?? err}`,
        }),
      );
      close.focus();
    });
  };

  const shut = () => {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    mounted?.then((app) => app.conversation.stop(), () => {});
    launcher.focus();
  };

  launcher.addEventListener('click', () => (panel.hidden ? open() : shut()));
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      shut();
    }
  });

  window.__liveavatarWidget = { host, open, close: shut };
  const attach = () => document.body.append(host);
  if (document.body) attach();
  else document.addEventListener('DOMContentLoaded', attach, { once: true });
})();
