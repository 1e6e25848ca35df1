import assert from 'node:assert/strict';
import test from 'node:test';

import { AnswerPacer, RateLearner, splitWords, wordWeight } from '../js/transcript-pacer.js';
import { TranscriptSync } from '../js/transcript-sync.js';

const RATE = 24_000;

test('word weights: syllables, at least one, pauses after punctuation', () => {
  assert.equal(wordWeight('a'), 1);
  assert.equal(wordWeight('hmm'), 1);
  assert.equal(wordWeight('banana'), 3);
  assert.equal(wordWeight('end.'), 2);
  assert.equal(wordWeight('well,'), 1.5);
  assert.equal(wordWeight('42'), 2);
  assert.deepEqual(splitWords('  one  two\nthree '), ['one', 'two', 'three']);
});

test('pacer: in progress, words follow the learned rate and never run past the text', () => {
  const p = new AnswerPacer(0.25);
  p.setText('cat dog sun big'); // one unit each
  p.setAudio(0.5, false);
  assert.equal(p.wordsAt(0), 0);
  assert.equal(p.wordsAt(0.01), 1); // a word shows as it starts
  assert.equal(p.wordsAt(0.26), 2);
  assert.equal(p.wordsAt(0.51), 3);
  assert.equal(p.wordsAt(10), 4);
});

test('pacer: once complete, the rate is the audio over the text, so the rest catches up', () => {
  const p = new AnswerPacer(0.5); // learned too slow
  p.setText('a b c d e f g h');
  p.setAudio(2, false);
  const before = p.wordsAt(1);
  p.setAudio(2, true); // 8 units in 2 s: 0.25 s each
  assert.equal(p.rate(), 0.25);
  const after = p.wordsAt(1);
  assert.ok(after > before, `${after} > ${before}`);
  assert.equal(after, 5); // starts at 0, .25, .5, .75, 1.0
  assert.equal(p.wordsAt(1.99), 8); // the end of the audio shows everything
});

test('pacer: a growing text keeps the timing of the words it already had', () => {
  const p = new AnswerPacer(0.2);
  p.setText('alpha beta');
  const early = p.wordsAt(0.3);
  p.setText('alpha beta gamma delta');
  assert.equal(p.wordsAt(0.3), early);
  assert.equal(p.words.length, 4);
});

test('rate learner: the first answer sets the rate, later ones move it', () => {
  const l = new RateLearner(0.26);
  l.learn(null);
  assert.equal(l.secondsPerUnit, 0.26);
  l.learn(0.2);
  assert.equal(l.secondsPerUnit, 0.2);
  l.learn(0.3);
  assert.ok(l.secondsPerUnit > 0.2 && l.secondsPerUnit < 0.3);
  const p = new AnswerPacer();
  p.setText('one two three four five six');
  p.setAudio(1.5, true);
  assert.ok(p.measuredRate() > 0);
  p.setAudio(0.2, true);
  assert.equal(p.measuredRate(), null); // too short to learn from
});

function harness() {
  const shown = [];
  const heard = [];
  const sync = new TranscriptSync({ show: (m) => shown.push(m), onHeard: (turn, h) => heard.push({ turn, ...h }) });
  return { sync, shown, heard, last: () => shown[shown.length - 1] };
}

test('sync: the transcript shows what is heard, then all of it when the answer has played', () => {
  const { sync, shown, heard, last } = harness();
  const words = 'one two three four five six seven eight';
  sync.audio(0, RATE); // 1 s
  sync.transcript({ turn: 1, text: words }, RATE);
  sync.update(-1);
  assert.equal(shown.length, 0); // nothing heard yet
  sync.audio(RATE, 2 * RATE); // 2 s in all: 8 units → 0.25 s a word once complete
  sync.turnComplete(1, 2 * RATE);
  sync.update(0.6 * RATE);
  assert.equal(last().text, 'one two three');
  assert.equal(last().final, false);
  sync.update(2 * RATE);
  assert.equal(last().text, words);
  assert.equal(last().final, true);
  assert.deepEqual(heard, [{ turn: 1, words: 8, total: 8, interrupted: false, text: words }]);
  sync.update(3 * RATE);
  assert.equal(heard.length, 1); // reported once
});

test('sync: a barge-in stops the text where the voice stopped, and reports that prefix', () => {
  const { sync, heard, last } = harness();
  sync.audio(0, 3 * RATE);
  sync.transcript({ turn: 4, text: 'a b c d e f g h i j k l' }, 3 * RATE);
  sync.update(0.3 * RATE);
  sync.interrupted(4, 3 * RATE);
  sync.transcript({ turn: 4, text: 'a b c d e f g h i j k l m n' }, 3 * RATE); // the rest arrives late
  sync.update(0.5 * RATE);
  assert.equal(heard.length, 0); // the cut position is not known yet
  sync.flushed(0.52 * RATE);
  sync.update(0.52 * RATE);
  assert.equal(heard.length, 1);
  const { words, interrupted, total } = heard[0];
  assert.equal(interrupted, true);
  assert.equal(total, 14);
  // 0.52 s at the default rate (0.2 s a word) is three words started.
  assert.ok(words >= 2 && words <= 3, `${words}`);
  assert.equal(last().final, true);
  assert.equal(last().text.split(' ').length, words);
  // The next answer's audio does not reopen the cut one.
  sync.audio(3 * RATE, 4 * RATE);
  sync.transcript({ turn: 5, text: 'next' }, 4 * RATE);
  sync.turnComplete(5, 4 * RATE);
  sync.update(4 * RATE);
  assert.equal(last().turn, 5);
  assert.equal(heard[1].turn, 5);
});

test('sync: text without audio is shown at its turn end; audio without text waits for it', () => {
  const { sync, last } = harness();
  sync.transcript({ turn: 2, text: 'typed answer' }, 0);
  sync.update(-1);
  assert.equal(last(), undefined);
  sync.turnComplete(2, 0);
  sync.update(-1);
  assert.equal(last().text, 'typed answer');
  sync.audio(0, RATE);
  sync.update(RATE); // heard before any text: nothing to show yet
  sync.transcript({ turn: 3, text: 'late words' }, RATE);
  sync.turnComplete(3, RATE);
  sync.update(RATE);
  assert.equal(last().text, 'late words');
  assert.equal(last().turn, 3);
});

test('sync: Stop reports what was heard of the answer still playing', () => {
  const { sync, heard } = harness();
  sync.audio(0, 4 * RATE);
  sync.transcript({ turn: 1, text: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10' }, 4 * RATE);
  sync.update(0.8 * RATE);
  sync.finishAll();
  assert.equal(heard.length, 1);
  assert.equal(heard[0].interrupted, true);
  assert.ok(heard[0].words > 0 && heard[0].words < 10);
});

test('pacer: each time the text grows, the audio received by then anchors the words before', () => {
  const p = new AnswerPacer(0.1); // a learned rate far too fast for this voice
  p.setText('cat dog sun big', 0); // 4 units, before any audio
  p.setAudio(2, false);
  p.setText('cat dog sun big red car', 2); // the first 4 units took the 2 s received
  assert.equal(p.wordsAt(1.0), 3); // 1 s = 2 units along the anchor: cat, dog, sun started
  assert.equal(p.wordsAt(1.9), 4);
  // Past the last anchor, too few units are anchored to trust: the learned rate.
  assert.equal(p.wordsAt(2.05), 5);
  p.setText('cat dog sun big red car ten', 2); // no new audio: no new anchor
  assert.equal(p.wordsAt(1.0), 3);
});
