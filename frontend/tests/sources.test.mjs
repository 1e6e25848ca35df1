import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseServerMessage, ProtocolParseError } from '../js/messages.js';
import { renderSources, safeLink } from '../js/sources.js';
import { TranscriptModel } from '../js/transcript.js';

/** Just enough of the DOM for renderSources: elements with attributes, children, text. */
class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.attributes = {};
    this.children = [];
    this.dataset = {};
    this.className = '';
    this._text = '';
  }

  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }

  append(...nodes) {
    this.children.push(...nodes);
  }

  set textContent(value) {
    this._text = String(value);
    this.children = [];
  }

  get textContent() {
    return this._text + this.children.map((c) => c.textContent).join('');
  }

  /** Every descendant with this tag name, in document order. */
  all(tag) {
    const out = [];
    for (const child of this.children) {
      if (child.tagName === tag.toUpperCase()) out.push(child);
      out.push(...child.all(tag));
    }
    return out;
  }
}

const doc = { createElement: (tag) => new FakeElement(tag) };

const GROUNDED = {
  type: 'sources',
  turn: 3,
  sources: [
    { title: 'Eiffel Tower - Wikipedia', uri: 'https://en.wikipedia.org/wiki/Eiffel_Tower', domain: 'wikipedia.org' },
    { title: 'Key figures', uri: 'http://www.toureiffel.paris/en', domain: 'toureiffel.paris' },
  ],
  queries: ['eiffel tower height'],
};

test('sources: each title is a link that opens apart, its site beside it', () => {
  const box = renderSources(doc, GROUNDED);
  assert.equal(box.className, 'sources');
  assert.equal(box.dataset.turn, '3');
  const links = box.all('a');
  assert.deepEqual(
    links.map((a) => [a.textContent, a.attributes.href, a.attributes.target, a.attributes.rel]),
    [
      ['Eiffel Tower - Wikipedia', 'https://en.wikipedia.org/wiki/Eiffel_Tower', '_blank', 'noopener noreferrer'],
      ['Key figures', 'http://www.toureiffel.paris/en', '_blank', 'noopener noreferrer'],
    ],
  );
  const items = box.all('li');
  assert.deepEqual(items.map((li) => li.children.map((c) => c.textContent)), [
    ['Eiffel Tower - Wikipedia', 'wikipedia.org'],
    ['Key figures', 'toureiffel.paris'],
  ]);
  assert.match(box.textContent, /Searched: eiffel tower height/);
});

test('sources: only http(s) addresses become links; the rest is plain text', () => {
  const hostile = {
    turn: 1,
    sources: [
      { title: 'Click me', uri: 'javascript:alert(1)' },
      { title: 'Data', uri: 'data:text/html,<script>alert(1)</script>' },
      { title: 'Relative', uri: '/admin' },
      { title: 'Mail', uri: 'mailto:someone@example.com' },
      { title: 'Fine', uri: 'HTTPS://Example.org/a b' },
    ],
  };
  const box = renderSources(doc, hostile);
  const links = box.all('a');
  assert.deepEqual(links.map((a) => a.attributes.href), ['https://example.org/a%20b']);
  const spans = box.all('span').map((s) => s.textContent);
  for (const title of ['Click me', 'Data', 'Relative', 'Mail']) assert.ok(spans.includes(title), title);
  assert.equal(safeLink('javascript:alert(1)'), null);
  assert.equal(safeLink('  '), null);
  assert.equal(safeLink(42), null);
  assert.equal(safeLink('ftp://files.example/x'), null);
  assert.equal(safeLink('http://a.example/'), 'http://a.example/');
});

test('sources: server text is text, never markup', () => {
  const box = renderSources(doc, {
    turn: 2,
    sources: [{ title: '<img src=x onerror=alert(1)>', uri: 'https://e.example/', domain: '<b>e</b>' }],
    queries: ['<script>q</script>'],
  });
  const [link] = box.all('a');
  assert.equal(link.textContent, '<img src=x onerror=alert(1)>');
  assert.equal(link.children.length, 0); // a text node's worth, no element made of it
  assert.match(box.textContent, /<b>e<\/b>/);
  assert.match(box.textContent, /Searched: <script>q<\/script>/);
});

test('sources: a page without a title is named by its site, then its address; empty ones are left out', () => {
  const box = renderSources(doc, {
    turn: 1,
    sources: [
      { uri: 'https://a.example/x', domain: 'a.example' },
      { uri: 'https://b.example/y' },
      { title: '', uri: '', domain: '' },
    ],
  });
  assert.deepEqual(box.all('a').map((a) => a.textContent), ['a.example', 'https://b.example/y']);
  assert.equal(box.all('li').length, 2);
  assert.doesNotMatch(box.textContent, /Searched/);
});

test('the sources message is parsed with defaults, and refused without its fields', () => {
  const msg = parseServerMessage(
    JSON.stringify({ type: 'sources', turn: 4, sources: [{ title: 't', uri: 'https://t.example/' }, 'junk', null] }),
  );
  assert.equal(msg.sources.length, 1);
  assert.deepEqual(msg.queries, []);
  assert.throws(() => parseServerMessage(JSON.stringify({ type: 'sources', turn: 4 })), ProtocolParseError);
  assert.throws(() => parseServerMessage(JSON.stringify({ type: 'sources', sources: [] })), ProtocolParseError);
});

test('sources go with the model line of their turn, per session', () => {
  const t = new TranscriptModel();
  t.apply({ role: 'model', text: 'About 330 metres.', final: true, turn: 1 });
  assert.equal(t.modelKey(1), t.entries[0].key);
  t.newSession();
  assert.notEqual(t.modelKey(1), t.entries[0].key); // turn 1 of the next session
});
