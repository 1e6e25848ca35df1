/**
 * A grounded answer's sources (the `sources` message, docs/API.md), shown under the
 * avatar's reply: each page's title as a link that opens in a new tab, its site beside
 * it, and the searches the model ran. Everything from the server is text (textContent),
 * never markup, and only http(s) addresses become links: anything else (javascript:,
 * data:, a relative path) is shown as plain text.
 */

/**
 * The address as a link target, or null if it must not be one.
 * @param {unknown} uri
 * @returns {string|null} the normalised http(s) URL
 */
export function safeLink(uri) {
  if (typeof uri !== 'string' || !uri) return null;
  let url;
  try {
    url = new URL(uri); // no base: a relative address is refused here
  } catch {
    return null;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
}

/**
 * The sources' element, for insertion right after the model's transcript entry.
 * @param {Pick<Document, 'createElement'>} doc
 * @param {{turn: number, sources: {title?: string, uri?: string, domain?: string}[], queries?: string[]}} msg
 * @returns {HTMLElement}
 */
export function renderSources(doc, msg) {
  const box = doc.createElement('div');
  box.className = 'sources';
  box.dataset.turn = String(msg.turn);
  box.dataset.testid = 'sources';
  const label = doc.createElement('span');
  label.className = 'sources-label';
  label.textContent = 'Sources';
  box.append(label);
  const list = doc.createElement('ul');
  for (const source of msg.sources ?? []) {
    const title = String(source.title || source.domain || source.uri || '').trim();
    if (!title) continue;
    const item = doc.createElement('li');
    const href = safeLink(source.uri);
    let name;
    if (href) {
      name = doc.createElement('a');
      name.setAttribute('href', href);
      name.setAttribute('target', '_blank');
      name.setAttribute('rel', 'noopener noreferrer');
    } else {
      name = doc.createElement('span');
    }
    name.textContent = title;
    item.append(name);
    const domain = String(source.domain ?? '').trim();
    if (domain && domain !== title) {
      const site = doc.createElement('span');
      site.className = 'domain';
      site.textContent = domain;
      item.append(site);
    }
    list.append(item);
  }
  box.append(list);
  const queries = (msg.queries ?? []).filter((q) => typeof q === 'string' && q.trim());
  if (queries.length) {
    const searched = doc.createElement('span');
    searched.className = 'searched';
    searched.textContent = `Searched: ${queries.join(' · ')}`;
    box.append(searched);
  }
  return box;
}
