// The native avatar player's box parsing, codec choice and gap skipping (js/mse-player.js).
import assert from 'node:assert/strict';
import test from 'node:test';

import { boxes, chooseType, END_SLACK_S, FALLBACK_TYPES, gapTarget, isInitSegment, sniffCodecs } from '../js/mse-player.js';

const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const ascii = (s) => [...s].map((c) => c.charCodeAt(0));

/** One box: size, type, then its body (arrays of bytes or other boxes). */
function box(type, ...body) {
  const flat = body.flat(Infinity);
  return [...u32(8 + flat.length), ...ascii(type), ...flat];
}

const zeros = (n) => new Array(n).fill(0);

/** An avcC: version 1, profile, constraint flags, level, then the rest (not read). */
const avcC = (profile, flags, level) => box('avcC', [1, profile, flags, level, 0xff, 0xe1, 0, 0, 0x01, 0, 0]);

/** An esds: ES_Descriptor(3) ⊃ DecoderConfigDescriptor(4) ⊃ DecoderSpecificInfo(5). */
function esds(objectType, asc, { longSizes = false } = {}) {
  const size = (n) => (longSizes ? [0x80, 0x80, 0x80, n] : [n]);
  const specific = [0x05, ...size(asc.length), ...asc];
  const config = [0x04, ...size(13 + specific.length), objectType, 0x15, 0, 0, 0, ...u32(128000), ...u32(64000), ...specific];
  const es = [0x03, ...size(3 + config.length), 0, 1, 0, ...config];
  return box('esds', [0, 0, 0, 0], es);
}

function trak(entry) {
  const stsd = box('stsd', [0, 0, 0, 0], u32(1), entry);
  return box('trak', box('tkhd', zeros(84)), box('mdia', box('mdhd', zeros(24)), box('minf', box('stbl', stsd))));
}

function init(...traks) {
  return new Uint8Array([...box('ftyp', ascii('iso5'), u32(512), ascii('iso6mp41')), ...box('moov', box('mvhd', zeros(100)), ...traks)]);
}

const video = (profile = 0x42, flags = 0xc0, level = 0x20) => trak(box('avc1', zeros(78), avcC(profile, flags, level)));
// AudioSpecificConfig 0x12 0x10: object type 2 (AAC LC), 44.1 kHz, 2 channels.
const audio = (asc = [0x12, 0x10], opts) => trak(box('mp4a', zeros(28), esds(0x40, asc, opts)));

test('boxes walks one level and stops at a box cut off', () => {
  const bytes = init(video());
  assert.deepEqual(boxes(bytes).map((b) => b.type), ['ftyp', 'moov']);
  assert.deepEqual(boxes(bytes.slice(0, bytes.length - 3)).map((b) => b.type), ['ftyp']);
  assert.equal(isInitSegment(bytes), true);
  assert.equal(isInitSegment(new Uint8Array(box('moof', zeros(8)))), false);
});

test('the codecs of Gemini 3.8 default: avc1.42C020 and AAC LC, video first', () => {
  assert.equal(sniffCodecs(init(audio(), video())), 'avc1.42C020, mp4a.40.2');
  assert.equal(sniffCodecs(init(video(0x42, 0xe0, 0x1e))), 'avc1.42E01E');
  assert.equal(sniffCodecs(init(video(0x64, 0x00, 0x28), audio())), 'avc1.640028, mp4a.40.2');
});

test('esds: expandable sizes, HE-AAC, the escape object type', () => {
  assert.equal(sniffCodecs(init(audio([0x12, 0x10], { longSizes: true }))), 'mp4a.40.2');
  assert.equal(sniffCodecs(init(audio([0x2b, 0x92, 0x08, 0x00]))), 'mp4a.40.5'); // SBR
  assert.equal(sniffCodecs(init(audio([0xf8, 0x1e, 0x20]))), 'mp4a.40.32'); // 31 → 32 + 0
});

test('nothing known: null, and the documented fallbacks are tried in order', () => {
  assert.equal(sniffCodecs(new Uint8Array(box('ftyp', ascii('iso5')))), null);
  assert.equal(sniffCodecs(init(trak(box('hvc1', zeros(78))))), null);
  const only = (ok) => (t) => ok.includes(t);
  assert.equal(chooseType('avc1.42C020, mp4a.40.2', () => true), 'video/mp4; codecs="avc1.42C020, mp4a.40.2"');
  assert.equal(chooseType('avc1.640028, mp4a.40.2', only([FALLBACK_TYPES[1]])), FALLBACK_TYPES[1]);
  assert.equal(chooseType(null, only(['video/mp4'])), 'video/mp4');
  assert.equal(chooseType('avc1.42C020', () => false), null);
});

/** TimeRanges from [start, end] pairs. */
const ranges = (...pairs) => ({ length: pairs.length, start: (i) => pairs[i][0], end: (i) => pairs[i][1] });

test('gaps: the play head in no range jumps to the next one, never back', () => {
  assert.equal(gapTarget(ranges([0, 1.375], [5.874, 6.5]), 2, true), 5.874);
  assert.equal(gapTarget(ranges([0, 1.375], [5.874, 6.5]), 2, false), 5.874);
  assert.equal(gapTarget(ranges([0, 1.375]), 2, true), null);
  assert.equal(gapTarget(ranges(), 0, true), null);
});

test('gaps: a play head stalled just short of its turn\'s end moves on to the next turn', () => {
  // As measured in Chromium: stuck at 1.3668 in [0, 1.375] with the next turn buffered.
  assert.equal(gapTarget(ranges([0, 1.375], [5.874, 6.5]), 1.366826, true), 5.874);
  // Playing (not starved), or starved with more than the slack left: it stays.
  assert.equal(gapTarget(ranges([0, 1.375], [5.874, 6.5]), 1.366826, false), null);
  assert.equal(gapTarget(ranges([0, 1.375], [5.874, 6.5]), 1.375 - END_SLACK_S - 0.05, true), null);
  // Starved at the end of the only range (the turn still arriving): nowhere to go.
  assert.equal(gapTarget(ranges([0, 1.375]), 1.366826, true), null);
});
