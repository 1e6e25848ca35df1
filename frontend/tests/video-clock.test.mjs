// The native avatar's voice clock (js/video-clock.js): fragment times read from the boxes,
// positions from the <video>'s play head, and the VoiceFollower pacing the transcript by it
// (js/voice-follow.js).
import assert from 'node:assert/strict';
import test from 'node:test';

import { mediaSpan, RATE, trackTimes, VideoClock } from '../js/video-clock.js';
import { VoiceFollower } from '../js/voice-follow.js';

const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n) => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)];
const ascii = (s) => [...s].map((c) => c.charCodeAt(0));
const zeros = (n) => new Array(n).fill(0);

function box(type, ...body) {
  const flat = body.flat(Infinity);
  return [...u32(8 + flat.length), ...ascii(type), ...flat];
}

const full = (type, version, flags, ...body) => box(type, [version, ...u32(flags).slice(1)], ...body);

/** A trak with its id (tkhd v0 or v1), timescale (mdhd v0 or v1) and handler. */
function trak(id, timescale, { version = 0, handler = 'vide' } = {}) {
  const tkhd = version ? full('tkhd', 1, 3, zeros(16), u32(id), zeros(72)) : full('tkhd', 0, 3, zeros(8), u32(id), zeros(64));
  const mdhd = version ? full('mdhd', 1, 0, zeros(16), u32(timescale), zeros(12)) : full('mdhd', 0, 0, zeros(8), u32(timescale), zeros(8));
  const hdlr = full('hdlr', 0, 0, zeros(4), ascii(handler), zeros(12), [0]);
  return box('trak', tkhd, box('mdia', mdhd, hdlr));
}

const trex = (id, duration, size = 0) => full('trex', 0, 0, u32(id), u32(1), u32(duration), u32(size), u32(0));

function init(...parts) {
  return [...box('ftyp', ascii('iso5'), u32(512)), ...box('moov', box('mvhd', zeros(100)), ...parts)];
}

/**
 * A traf: tfdt (v1 or v0), one trun with per-sample durations and sizes, or durations
 * left to tfhd or trex (null entries).
 */
function traf(id, start, durations, { tfhdDefault = null, version = 1, sizes = null } = {}) {
  const tfhd = tfhdDefault === null ? full('tfhd', 0, 0x020000, u32(id)) : full('tfhd', 0, 0x020008, u32(id), u32(tfhdDefault));
  const tfdt = version ? full('tfdt', 1, 0, u64(start)) : full('tfdt', 0, 0, u32(start));
  const perSample = durations.every((d) => d !== null);
  const flags = perSample ? 0x301 : 0x201;
  const size = (k) => (sizes ? sizes[k] : 100);
  const entries = durations.map((d, k) => (perSample ? [...u32(d), ...u32(size(k))] : u32(size(k))));
  return box('traf', tfhd, tfdt, full('trun', 0, flags, u32(durations.length), u32(0), entries));
}

const fragment = (...trafs) => [...box('moof', full('mfhd', 0, 0, u32(1)), ...trafs), ...box('mdat', zeros(4))];
const bytes = (...parts) => new Uint8Array(parts.flat());

// The emulator's layout: one 24 kHz timescale, video frames of 1000 ticks, AAC of 1024.
const INIT = init(trak(1, 24_000), trak(2, 24_000, { handler: 'soun' }), box('mvex', trex(1, 0), trex(2, 0)));

test('trackTimes: each track id, timescale and kind, tkhd/mdhd versions 0 and 1, trex defaults', () => {
  const tracks = trackTimes(bytes(INIT));
  assert.deepEqual([...tracks.keys()], [1, 2]);
  assert.deepEqual(tracks.get(1), { timescale: 24_000, defaultDuration: 0, defaultSize: 0, sound: false });
  assert.equal(tracks.get(2).sound, true);
  const other = trackTimes(bytes(init(trak(7, 90_000, { version: 1 }), trak(8, 48_000), box('mvex', trex(7, 3750, 9)))));
  assert.deepEqual(other.get(7), { timescale: 90_000, defaultDuration: 3750, defaultSize: 9, sound: false });
  assert.deepEqual(other.get(8), { timescale: 48_000, defaultDuration: 0, defaultSize: 0, sound: false });
  assert.equal(trackTimes(bytes(fragment(traf(1, 0, [1000])))), null); // no moov
});

test('mediaSpan: every track of every fragment, per-sample or default durations', () => {
  const tracks = trackTimes(bytes(INIT));
  // Half a second: 12 video frames, and AAC starting one frame (1024) early (priming).
  const half = fragment(traf(1, 24_000, new Array(12).fill(1000)), traf(2, 22_976, new Array(12).fill(1024)));
  const span = mediaSpan(bytes(half), tracks);
  assert.equal(span.start, 22_976 / 24_000);
  assert.equal(span.end, 36_000 / 24_000);
  // The init segment and the first fragment in one piece, then a second fragment with it.
  const both = mediaSpan(bytes(INIT, fragment(traf(1, 0, [1000, 1000])), fragment(traf(1, 2000, [1000]))), tracks);
  assert.deepEqual([both.start, both.end], [0, 3000 / 24_000]);
  // Durations from tfhd, then from trex; a 32-bit tfdt.
  const other = trackTimes(bytes(init(trak(7, 90_000), box('mvex', trex(7, 3750)))));
  const fromTfhd = mediaSpan(bytes(fragment(traf(7, 9000, [null, null], { tfhdDefault: 4500 }))), other);
  assert.deepEqual([fromTfhd.start, fromTfhd.end], [0.1, 0.2]);
  const fromTrex = mediaSpan(bytes(fragment(traf(7, 0, [null, null, null, null], { version: 0 }))), other);
  assert.deepEqual([fromTrex.start, fromTrex.end], [0, 1 / 6]);
  // An unknown track, or no fragment: no span.
  assert.equal(mediaSpan(bytes(fragment(traf(9, 0, [1000]))), tracks), null);
  assert.equal(mediaSpan(bytes(INIT), tracks), null);
});

test('mediaSpan: the sound is where the AAC frames are more than silence', () => {
  const tracks = trackTimes(bytes(INIT));
  // Silence (4 bytes a frame), speech, silence: the sound is the speech's frames.
  const sizes = [4, 4, 330, 280, 6, 310, 4, 4];
  const piece = fragment(traf(1, 0, new Array(8).fill(1024)), traf(2, 0, new Array(8).fill(1024), { sizes }));
  assert.deepEqual(mediaSpan(bytes(piece), tracks).sound, { start: 2048 / 24_000, end: 6144 / 24_000 });
  const silent = fragment(traf(2, 0, [1024, 1024], { sizes: [4, 5] }));
  assert.equal(mediaSpan(bytes(silent), tracks).sound, null);
  // No sound track to tell: all of it may be sound.
  const videoOnly = trackTimes(bytes(init(trak(1, 24_000))));
  assert.deepEqual(mediaSpan(bytes(fragment(traf(1, 0, [1000]))), videoOnly).sound, { start: 0, end: 1000 / 24_000 });
});

/** An MsePlayer stand-in: its video's play head, its streams, its `flushed` event. */
class FakePlayer extends EventTarget {
  constructor() {
    super();
    this.video = { currentTime: 0, paused: true };
    this.streams = 0;
    this.pushed = 0;
    this.stopped = false;
  }

  push(b) {
    const init = b[4] === 0x66; // an init segment starts a fresh MediaSource here
    if (this.stopped || (!init && this.streams === 0)) return false; // as MsePlayer
    this.pushed += 1;
    if (init) this.streams += 1;
    return true;
  }

  interrupt() {
    this.dispatchEvent(new CustomEvent('flushed', { detail: { time: this.video.currentTime } }));
  }
}

/** Half a second of the emulator's media at `start` s: video and its sound, or silence. */
function media(start, seconds = 0.5, sound = false) {
  const at = Math.round(start * 24_000);
  const n = Math.round(seconds * 24);
  return fragment(traf(1, at, new Array(n).fill(1000)), traf(2, at, new Array(n).fill(1000), { sizes: new Array(n).fill(sound ? 300 : 4) }));
}

test('VideoClock: media the player does not take spans nothing (it would open an answer never heard)', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  assert.equal(clock.push(bytes(media(0, 0.5, true))), null); // before any init segment
  assert.notEqual(clock.push(bytes(INIT, media(0))), null);
  player.stopped = true; // the session's player was stopped: what still comes never plays
  assert.equal(clock.push(bytes(media(0.5, 0.5, true))), null);
  assert.equal(clock.end(), 0.5 * RATE);
});

test('VideoClock: positions of media and of the play head; a fresh stream goes on from the last', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  assert.equal(clock.heardThrough(), -1);
  assert.deepEqual(clock.push(bytes(INIT, media(0))), { start: 0, end: 0.5 * RATE, sound: null });
  assert.equal(player.pushed, 1);
  assert.equal(clock.heardThrough(), -1); // not playing yet
  player.video.paused = false;
  player.video.currentTime = 0.25;
  assert.equal(clock.heardThrough(), 0.25 * RATE);
  // The next turn's media after a gap: its own time.
  assert.deepEqual(clock.push(bytes(media(3, 0.5, true))), { start: 3 * RATE, end: 3.5 * RATE, sound: { start: 3 * RATE, end: 3.5 * RATE } });
  assert.equal(clock.end(), 3.5 * RATE);
  player.video.currentTime = 3.1; // the player jumped the gap
  assert.equal(clock.heardThrough(), 3.1 * RATE);
  // A new Live connection: a new init segment, media time from 0 again; positions go on.
  assert.deepEqual(clock.push(bytes(INIT, media(0))), { start: 3.5 * RATE, end: 4 * RATE, sound: null });
  player.video.currentTime = 0;
  assert.equal(clock.heardThrough(), 3.5 * RATE); // all of the last stream is past
  player.video.currentTime = 0.2;
  assert.equal(clock.heardThrough(), 3.7 * RATE);
  // A barge-in: where the play head stopped, as a position.
  const cuts = [];
  clock.onFlushed = (position) => cuts.push(position);
  player.interrupt();
  assert.deepEqual(cuts, [3.7 * RATE]);
});

function follower(video) {
  const shown = [];
  const sent = [];
  const hooks = { record: () => {} };
  const ui = { addTranscript: (m) => shown.push(m), markInterrupted: () => {} };
  const f = new VoiceFollower({ ui, avatar: { mode: 'native' }, hooks, player: () => null, video: () => video, send: (...a) => sent.push(a) });
  return { f, shown, sent, hooks, last: () => shown[shown.length - 1] };
}

test('VoiceFollower on the video clock: words shown by the play head, the cut reported', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  const { f, sent, hooks, last } = follower(clock);
  // The first sentence's text, then two seconds of its voice.
  f.transcript({ role: 'model', turn: 1, text: 'one two three four five six seven eight' });
  // Half a second of silence before the voice: the words are paced from its first sound.
  f.media(bytes(INIT, media(0)));
  for (let s = 0.5; s < 2.5; s += 0.5) f.media(bytes(media(s, 0.5, true)));
  f.catchUp();
  assert.equal(last(), undefined); // nothing heard yet
  player.video.paused = false;
  player.video.currentTime = 0.45;
  f.catchUp();
  assert.equal(last(), undefined); // the silence before the voice
  // 0.2 s a syllable before anything was learned: "one" is two, "two" and "three" one each.
  player.video.currentTime = 1.15;
  f.catchUp();
  assert.equal(last().text, 'one two three');
  // The barge-in 1.05 s into the voice: five words started; the text stops there and is
  // reported.
  f.interrupted(1);
  player.video.currentTime = 1.55;
  player.interrupt();
  f.catchUp();
  assert.equal(last().final, true);
  assert.equal(last().text, 'one two three four five');
  assert.deepEqual(sent, [[1, 5, null]]); // no audio/video offset for a native answer
  assert.equal(hooks.heard[0].interrupted, true);
});

test('VoiceFollower on the video clock: an answer played to the end of its media is all shown', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  const { f, sent, last } = follower(clock);
  f.media(bytes(INIT, media(0, 0.5, true)));
  f.transcript({ role: 'model', turn: 2, text: 'all of it is said here' });
  f.media(bytes(media(0.5, 0.5, true)));
  f.turnComplete(2);
  player.video.paused = false;
  player.video.currentTime = 0.8; // stalled within the tail Chromium holds back
  f.catchUp();
  assert.equal(last().text, 'all of it is said here');
  assert.equal(last().final, true);
  assert.deepEqual(sent, [[2, 6, null]]);
});

test('VoiceFollower: the PCM flush of a barge-in does not cut the video answer', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  const { f, sent } = follower(clock);
  f.transcript({ role: 'model', turn: 3, text: 'a b c d e f g h' });
  f.media(bytes(INIT, media(0), media(0.5)));
  f.flushed(0); // what the PCM player reports at every barge-in, here with nothing in it
  player.video.paused = false;
  player.video.currentTime = 0.6;
  f.catchUp();
  assert.deepEqual(sent, []); // still playing, nothing cut
});

test('VoiceFollower on the video clock: the rate is learned over the sound, not the silence around it', () => {
  const player = new FakePlayer();
  const clock = new VideoClock(player);
  const { f, sent, last } = follower(clock);
  // Ten one-syllable words said in 1.5 s (0.15 s each), half a second of silence either side.
  const words = 'a b c d e f g h i j';
  f.transcript({ role: 'model', turn: 1, text: words });
  f.media(bytes(INIT, media(0)));
  for (let s = 0.5; s < 2; s += 0.5) f.media(bytes(media(s, 0.5, true)));
  f.media(bytes(media(2)));
  f.turnComplete(1);
  player.video.paused = false;
  player.video.currentTime = 2.5;
  f.catchUp();
  assert.deepEqual(sent, [[1, 10, null]]);
  // The next answer, after a gap, is paced at 0.15 s a word from its first sound.
  f.transcript({ role: 'model', turn: 2, text: words });
  f.media(bytes(media(4)));
  for (let s = 4.5; s < 6; s += 0.5) f.media(bytes(media(s, 0.5, true)));
  // 0.92 s into the voice: seven words started (over the whole media, 0.25 s a word from
  // its start, it would be six).
  player.video.currentTime = 4.5 + 0.92;
  f.catchUp();
  assert.equal(last().turn, 2);
  assert.equal(last().text, 'a b c d e f g');
});
