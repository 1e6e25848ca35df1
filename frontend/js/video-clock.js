/**
 * The native avatar's voice clock: which part of its fragmented MP4 is being heard, in the
 * stream positions voice-follow.js paces the transcript by (the same interface as the
 * PCM player's clock there).
 *
 * The voice is muxed into the video, so what the user hears is the <video> element's own
 * play head: Chromium's media time follows the audio renderer, the sound being output
 * now. Each media frame's time span is read from its boxes as it arrives (`moof`: each
 * track's `tfdt` and its samples' durations, in the timescale the init segment's `mdhd`
 * gives; a duration left out comes from `tfhd` or the init segment's `trex`), so an answer
 * spans the media times of its fragments, and how far into it the listener is comes from
 * `currentTime`. The service's timestamps jump over the silence between turns, and the
 * player jumps its play head over those gaps, so an answer's words are paced from the
 * first fragment it has. A fresh MediaSource (a new Live connection starts its stream
 * over) continues the positions where the last stream's media ended, so they only grow.
 *
 * Where the voice itself is, without decoding it: an AAC frame of silence takes a handful
 * of bytes, one of speech a hundred or more, so the sound track's sample sizes (`trun`)
 * say which of its frames carry sound. The silence before and after an answer's speech is
 * then not taken for speech when its words are paced and the voice's rate is learned. A
 * stream whose encoder pads every frame simply shows sound throughout.
 *
 * The box parsing is pure and tested in Node (frontend/tests/video-clock.test.mjs).
 */

import { boxes } from './mse-player.js';

/** Stream positions per second (as the PCM player's, 24 kHz: the pacer's unit). */
export const RATE = 24_000;

/**
 * A Media Source player stalls a little before the end of what it has buffered (Chromium:
 * about 0.16 s) until more media comes: once an answer's media is all in, this much of its
 * end counts as heard when the play head is there.
 */
export const TAIL_S = 0.3;

/** An AAC frame of at most this many bytes is silence (digital silence takes 4 to 6). */
export const SILENT_FRAME_BYTES = 24;

/**
 * @typedef {object} Track
 * @property {number} timescale ticks per second
 * @property {number} defaultDuration the trex default sample duration, ticks (0: none)
 * @property {number} defaultSize the trex default sample size, bytes (0: none)
 * @property {boolean} sound a sound track (`hdlr` type `soun`)
 */

function u32(bytes, i) {
  return ((bytes[i] << 24) >>> 0) + (bytes[i + 1] << 16) + (bytes[i + 2] << 8) + bytes[i + 3];
}

function u64(bytes, i) {
  return u32(bytes, i) * 2 ** 32 + u32(bytes, i + 4);
}

const kids = (bytes, box, skip = 0) => boxes(bytes, box.body + skip, box.end);

/**
 * The tracks an init segment declares, by track id.
 * @param {Uint8Array} bytes holds `moov`
 * @returns {Map<number, Track>|null} null when there is no `moov`
 */
export function trackTimes(bytes) {
  const moov = boxes(bytes).find((b) => b.type === 'moov');
  if (!moov) return null;
  /** @type {Map<number, Track>} */
  const tracks = new Map();
  for (const trak of kids(bytes, moov).filter((b) => b.type === 'trak')) {
    const tkhd = kids(bytes, trak).find((b) => b.type === 'tkhd');
    const mdia = kids(bytes, trak).find((b) => b.type === 'mdia');
    const mdhd = mdia && kids(bytes, mdia).find((b) => b.type === 'mdhd');
    const hdlr = mdia && kids(bytes, mdia).find((b) => b.type === 'hdlr');
    if (!tkhd || !mdhd) continue;
    const id = u32(bytes, tkhd.body + (bytes[tkhd.body] === 1 ? 20 : 12));
    const timescale = u32(bytes, mdhd.body + (bytes[mdhd.body] === 1 ? 20 : 12));
    const sound = !!hdlr && String.fromCharCode(...bytes.subarray(hdlr.body + 8, hdlr.body + 12)) === 'soun';
    if (timescale > 0) tracks.set(id, { timescale, defaultDuration: 0, defaultSize: 0, sound });
  }
  const mvex = kids(bytes, moov).find((b) => b.type === 'mvex');
  for (const trex of mvex ? kids(bytes, mvex).filter((b) => b.type === 'trex') : []) {
    const track = tracks.get(u32(bytes, trex.body + 4));
    if (!track) continue;
    track.defaultDuration = u32(bytes, trex.body + 12);
    track.defaultSize = u32(bytes, trex.body + 16);
  }
  return tracks;
}

/**
 * One `traf`'s span in seconds, and for a sound track the part of it its frames of sound
 * cover; null when it says no time.
 */
function trafSpan(bytes, traf, tracks) {
  const parts = kids(bytes, traf);
  const tfhd = parts.find((b) => b.type === 'tfhd');
  const tfdt = parts.find((b) => b.type === 'tfdt');
  if (!tfhd || !tfdt) return null;
  const track = tracks.get(u32(bytes, tfhd.body + 4));
  if (!track) return null;
  const hFlags = u32(bytes, tfhd.body) & 0xffffff;
  let at = tfhd.body + 8;
  if (hFlags & 0x01) at += 8; // base data offset
  if (hFlags & 0x02) at += 4; // sample description index
  const defaultDuration = hFlags & 0x08 ? u32(bytes, at) : track.defaultDuration;
  if (hFlags & 0x08) at += 4;
  const defaultSize = hFlags & 0x10 ? u32(bytes, at) : track.defaultSize;
  const start = bytes[tfdt.body] === 1 ? u64(bytes, tfdt.body + 4) : u32(bytes, tfdt.body + 4);
  let ticks = 0;
  let soundFrom = -1;
  let soundTo = -1;
  for (const trun of parts.filter((b) => b.type === 'trun')) {
    const flags = u32(bytes, trun.body) & 0xffffff;
    const count = u32(bytes, trun.body + 4);
    let i = trun.body + 8;
    if (flags & 0x001) i += 4; // data offset
    if (flags & 0x004) i += 4; // first sample flags
    const hasDuration = flags & 0x100;
    const hasSize = flags & 0x200;
    const stride = 4 * ((hasDuration ? 1 : 0) + (hasSize ? 1 : 0) + (flags & 0x400 ? 1 : 0) + (flags & 0x800 ? 1 : 0));
    for (let n = 0; n < count && i + stride <= trun.end; n += 1, i += stride) {
      const duration = hasDuration ? u32(bytes, i) : defaultDuration;
      const size = hasSize ? u32(bytes, i + (hasDuration ? 4 : 0)) : defaultSize;
      if (track.sound && size > SILENT_FRAME_BYTES) {
        if (soundFrom < 0) soundFrom = ticks;
        soundTo = ticks + duration;
      }
      ticks += duration;
    }
  }
  const ts = track.timescale;
  const sound = soundFrom < 0 ? null : { start: (start + soundFrom) / ts, end: (start + soundTo) / ts };
  return { start: start / ts, end: (start + ticks) / ts, sound: track.sound ? sound : undefined };
}

/**
 * The media time a piece of media spans (every fragment in it, every track), and the part
 * its frames of sound cover, in seconds.
 * @param {Uint8Array} bytes one media frame's payload (fragments, maybe after an init segment)
 * @param {Map<number, Track>} tracks
 * @returns {{start: number, end: number, sound: {start: number, end: number}|null}|null}
 *   null when it holds no timed fragment; `sound` null when no frame of it carries sound,
 *   the whole span when it has no sound track to tell
 */
export function mediaSpan(bytes, tracks) {
  let start = Infinity;
  let end = -Infinity;
  let sound = null;
  let soundTrack = false;
  for (const moof of boxes(bytes).filter((b) => b.type === 'moof')) {
    for (const traf of kids(bytes, moof).filter((b) => b.type === 'traf')) {
      const span = trafSpan(bytes, traf, tracks);
      if (!span) continue;
      start = Math.min(start, span.start);
      end = Math.max(end, span.end);
      if (span.sound !== undefined) soundTrack = true;
      if (span.sound) {
        sound = sound ? { start: Math.min(sound.start, span.sound.start), end: Math.max(sound.end, span.sound.end) } : span.sound;
      }
    }
  }
  if (!(end > start)) return null;
  return { start, end, sound: soundTrack ? sound : { start, end } };
}

export class VideoClock {
  /**
   * @param {import('./mse-player.js').MsePlayer} player
   */
  constructor(player) {
    this.player = player;
    this.rate = RATE;
    this.tailS = TAIL_S;
    // The service's avatar text may come well before the video that speaks it (reference
    // §14.3), half a second of fragments or more: its arrival says nothing of its timing,
    // so the words are paced by the voice's rate (learned over the session's answers).
    this.anchors = false;
    /** @type {Map<number, Track>|null} */
    this._tracks = null;
    this._streams = player.streams;
    this._base = 0; // seconds before the current stream's media time 0
    this._end = 0; // seconds: the end of the media received
    this._heard = -1;
    /** @type {(position: number) => void} the player dropped what was ahead (a barge-in) */
    this.onFlushed = () => {};
    player.addEventListener('flushed', (e) => this.onFlushed(this._position(e.detail.time)));
  }

  /**
   * Hand one media frame to the player.
   * @param {Uint8Array} bytes
   * @returns {{start: number, end: number, sound: {start: number, end: number}|null}|null}
   *   the stream positions it spans, and those its sound spans; null for media that will
   *   not play
   */
  push(bytes) {
    // Media the player did not take (before any init segment, or once stopped) will never
    // play: it opens no answer.
    if (!this.player.push(bytes)) return null;
    this._tracks = trackTimes(bytes) ?? this._tracks;
    if (this.player.streams !== this._streams) {
      // A fresh MediaSource: its media time starts over, the positions go on.
      if (this._streams > 0) this._base = this._end;
      this._streams = this.player.streams;
    }
    const span = this._tracks && mediaSpan(bytes, this._tracks);
    if (!span) return null;
    this._end = Math.max(this._end, this._base + span.end);
    const sound = span.sound && { start: this._position(span.sound.start), end: this._position(span.sound.end) };
    return { start: this._position(span.start), end: this._position(span.end), sound };
  }

  /** The stream position after the last media received. */
  end() {
    return Math.round(this._end * this.rate);
  }

  /** The furthest stream position heard (the play head of the stream playing), or -1. */
  heardThrough() {
    const v = this.player.video;
    if (this.player.streams === this._streams && this.player.streams > 0 && (v.currentTime > 0 || !v.paused)) {
      this._heard = Math.max(this._heard, this._position(v.currentTime));
    }
    return this._heard;
  }

  _position(seconds) {
    return Math.round((this._base + seconds) * this.rate);
  }
}
