/**
 * MsePlayer: the native avatar's fragmented MP4 (H.264 video, the voice muxed in as AAC)
 * played through Media Source Extensions in a <video> (reference §14.4, docs/AVATARS.md).
 *
 * - The codecs are read from the init segment (`avcC` → `avc1.PPCCLL`, `esds` →
 *   `mp4a.40.N`), then the documented strings, then plain `video/mp4`, whichever the
 *   browser supports first.
 * - Media is queued and appended one piece per `updateend`.
 * - Fragments come only while the avatar speaks, so the timeline has gaps between turns:
 *   when the play head sits in a gap, it jumps to the next buffered range. A turn's end
 *   counts as a gap too: the element stalls a few ms short of its range's end (the voice's
 *   last AAC frame ends before the last video frame does), so a starved play head within
 *   `END_SLACK_S` of its range's end jumps on as well.
 * - `interrupt()` (barge-in): the queue is emptied, an append in progress aborted and
 *   everything after the play head removed, then the play head is seeked to where it is,
 *   which drops what the element had already decoded, so the avatar stops at once.
 * - A full buffer (QuotaExceededError): media older than 5 s behind the play head is
 *   removed and the append tried again.
 *
 * The box parsing at the top is pure and tested in Node (frontend/tests/mse-player.test.mjs).
 */

const KEEP_BEHIND_S = 5;
/** A starved play head this close to its range's end is at the end of that turn. */
export const END_SLACK_S = 0.1;
export const FALLBACK_TYPES = Object.freeze([
  'video/mp4; codecs="avc1.42C020, mp4a.40.2"',
  'video/mp4; codecs="avc1.42E01E, mp4a.40.2"',
  'video/mp4',
]);

/**
 * The boxes of one level: [{type, start, end, body}] with offsets into `bytes`.
 * @param {Uint8Array} bytes
 * @param {number} [from]
 * @param {number} [to]
 * @returns {{type: string, start: number, end: number, body: number}[]}
 */
export function boxes(bytes, from = 0, to = bytes.length) {
  const out = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = from;
  while (i + 8 <= to) {
    let size = view.getUint32(i);
    const type = String.fromCharCode(bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]);
    let body = i + 8;
    if (size === 1) {
      if (i + 16 > to) break;
      size = Number(view.getBigUint64(i + 8));
      body = i + 16;
    } else if (size === 0) {
      size = to - i;
    }
    if (size < body - i || i + size > to) break; // a box cut off: the rest is unknown
    out.push({ type, start: i, end: i + size, body });
    i += size;
  }
  return out;
}

/** Header bytes before the child boxes of a sample entry (ISO 14496-12). */
const SAMPLE_ENTRY_HEADER = { avc1: 78, avc3: 78, mp4a: 28 };

function child(bytes, box, type, skip = 0) {
  return boxes(bytes, box.body + skip, box.end).find((b) => b.type === type) ?? null;
}

function path(bytes, box, types) {
  let at = box;
  for (const t of types) {
    at = child(bytes, at, t);
    if (!at) return null;
  }
  return at;
}

const hex2 = (n) => n.toString(16).toUpperCase().padStart(2, '0');

/** `avc1.PPCCLL` from an avcC box: profile, constraint flags, level. */
function avcCodec(bytes, entry) {
  const avcC = child(bytes, entry, 'avcC', SAMPLE_ENTRY_HEADER[entry.type]);
  if (!avcC || avcC.end - avcC.body < 4) return null;
  const b = avcC.body;
  return `${entry.type}.${hex2(bytes[b + 1])}${hex2(bytes[b + 2])}${hex2(bytes[b + 3])}`;
}

/** One descriptor of an esds: tag, body start, end (ISO 14496-1 expandable sizes). */
function descriptor(bytes, i, end) {
  if (i + 2 > end) return null;
  const tag = bytes[i];
  let size = 0;
  let j = i + 1;
  for (let n = 0; n < 4 && j < end; n += 1) {
    const b = bytes[j++];
    size = (size << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  return { tag, body: j, end: Math.min(end, j + size) };
}

/** `mp4a.40.N` from an esds box (N: the AudioSpecificConfig's object type). */
function aacCodec(bytes, entry) {
  const esds = child(bytes, entry, 'esds', SAMPLE_ENTRY_HEADER.mp4a);
  if (!esds) return null;
  const es = descriptor(bytes, esds.body + 4, esds.end); // after version and flags
  if (!es || es.tag !== 0x03) return null;
  const flags = bytes[es.body + 2];
  let i = es.body + 3;
  if (flags & 0x80) i += 2; // dependsOn_ES_ID
  if (flags & 0x40) i += 1 + bytes[i]; // URL
  if (flags & 0x20) i += 2; // OCR_ES_Id
  const config = descriptor(bytes, i, es.end);
  if (!config || config.tag !== 0x04) return null;
  const objectType = bytes[config.body];
  if (objectType !== 0x40) return `mp4a.${hex2(objectType).toLowerCase()}`;
  const specific = descriptor(bytes, config.body + 13, config.end);
  if (!specific || specific.tag !== 0x05 || specific.body >= specific.end) return 'mp4a.40.2';
  let aot = bytes[specific.body] >> 3;
  if (aot === 31) aot = 32 + (((bytes[specific.body] & 0x07) << 3) | (bytes[specific.body + 1] >> 5));
  return `mp4a.40.${aot}`;
}

/**
 * The codecs of an init segment, e.g. `avc1.42C020, mp4a.40.2`; null when it holds none
 * this parser knows.
 * @param {Uint8Array} bytes the first media (starts with `ftyp`, holds `moov`)
 * @returns {string|null}
 */
export function sniffCodecs(bytes) {
  const moov = boxes(bytes).find((b) => b.type === 'moov');
  if (!moov) return null;
  const codecs = [];
  for (const trak of boxes(bytes, moov.body, moov.end).filter((b) => b.type === 'trak')) {
    const stsd = path(bytes, trak, ['mdia', 'minf', 'stbl', 'stsd']);
    if (!stsd) continue;
    const entries = boxes(bytes, stsd.body + 8, stsd.end); // version, flags, entry count
    for (const entry of entries) {
      const codec =
        entry.type === 'avc1' || entry.type === 'avc3' ? avcCodec(bytes, entry) : entry.type === 'mp4a' ? aacCodec(bytes, entry) : null;
      if (codec) codecs.push(codec);
    }
  }
  // Video first, as the documented strings have it.
  codecs.sort((a, b) => Number(a.startsWith('mp4a')) - Number(b.startsWith('mp4a')));
  return codecs.length ? codecs.join(', ') : null;
}

/**
 * The SourceBuffer type to use: the sniffed codecs, then §14.4's fallbacks.
 * @param {string|null} codecs
 * @param {(type: string) => boolean} isTypeSupported
 * @returns {string|null}
 */
export function chooseType(codecs, isTypeSupported) {
  const wanted = codecs ? [`video/mp4; codecs="${codecs}"`, ...FALLBACK_TYPES] : [...FALLBACK_TYPES];
  return wanted.find((t) => isTypeSupported(t)) ?? null;
}

/**
 * Where the play head should jump to skip a gap: the start of the next buffered range when
 * it sits in no range, or starved (`starved`: the element has no media ahead to play)
 * within END_SLACK_S of its range's end; otherwise null.
 * @param {{length: number, start: (i: number) => number, end: (i: number) => number}} ranges
 * @param {number} t the play head
 * @param {boolean} starved
 * @returns {number|null}
 */
export function gapTarget(ranges, t, starved) {
  for (let i = 0; i < ranges.length; i += 1) {
    const inside = ranges.start(i) <= t && t < ranges.end(i);
    if (inside && !(starved && ranges.end(i) - t <= END_SLACK_S)) return null;
    if (ranges.start(i) > t) return ranges.start(i);
  }
  return null;
}

/** Whether a piece of media starts with an init segment (an `ftyp` box). */
export function isInitSegment(bytes) {
  return bytes.length >= 8 && bytes[4] === 0x66 && bytes[5] === 0x74 && bytes[6] === 0x79 && bytes[7] === 0x70;
}

export class MsePlayer extends EventTarget {
  /**
   * Events: 'type' (detail {type, codecs}) once the SourceBuffer exists, 'error' (detail
   * {message}) when the stream cannot be played (the caller falls back), 'flushed' (detail
   * {time}) when `interrupt()` stopped the play head at media time `time`.
   * @param {HTMLVideoElement} video
   * @param {{MediaSourceImpl?: typeof MediaSource}} [options]
   */
  constructor(video, { MediaSourceImpl = globalThis.MediaSource } = {}) {
    super();
    this.video = video;
    this._MediaSource = MediaSourceImpl;
    /** @type {Uint8Array[]} */
    this._queue = [];
    this._source = null;
    /** @type {SourceBuffer|null} */
    this._buffer = null;
    this._url = '';
    this._stopped = false;
    this._initAppended = false;
    this.type = null;
    this.appended = 0; // pieces appended, for tests and hooks
    this.streams = 0; // MediaSources opened: each starts its media time over
    /** @type {number|null} where to seek once a barge-in's removal is done */
    this._flushAt = null;
    // The play head ran out of media: the next turn's may already wait further on.
    this._onWaiting = () => this._skipGap();
    video.addEventListener('waiting', this._onWaiting);
  }

  /**
   * @param {ArrayBuffer|Uint8Array} media one media frame's payload
   * @returns {boolean} whether it was taken (not: before any init segment, or stopped)
   */
  push(media) {
    if (this._stopped) return false;
    const bytes = media instanceof Uint8Array ? media : new Uint8Array(media);
    // A new Live connection (a reconnect) starts its own stream: start over with it.
    if (this._source && isInitSegment(bytes) && this._initAppended) this._reset();
    if (!this._source) {
      if (!isInitSegment(bytes)) return false; // nothing plays before the init segment
      this._open(bytes);
    }
    this._queue.push(bytes);
    this._pump();
    return true;
  }

  /**
   * Barge-in: stop what is playing and drop what is queued, keeping the init segment.
   * A 'flushed' event (detail {time}) says where the play head stopped.
   */
  interrupt() {
    const sb = this._buffer;
    this._queue = this._queue.filter((b) => isInitSegment(b) && !this._initAppended);
    if (!this._source) return;
    const from = this.video.currentTime;
    try {
      if (sb?.updating) sb.abort();
      if (sb && this._bufferedEnd() > from) {
        sb.remove(from, Infinity);
        // Removing buffered media does not stop what the element has already decoded
        // (about 0.3 s of voice and face played on in Chromium); a seek to where the play
        // head is flushes it, once the removal is done (a seek before it would decode the
        // doomed media again).
        this._flushAt = from;
      }
    } catch (err) {
      this.dispatchEvent(new CustomEvent('error', { detail: { message: `interrupt: ${err?.message ?? err}` } }));
    }
    this.dispatchEvent(new CustomEvent('flushed', { detail: { time: from } }));
  }

  /** Release the media source and the element's source. Idempotent. */
  stop() {
    this._stopped = true;
    this._queue = [];
    this._flushAt = null;
    this.video.removeEventListener('waiting', this._onWaiting);
    this.video.pause();
    if (this._url) {
      this.video.removeAttribute('src');
      this.video.load();
      URL.revokeObjectURL(this._url);
      this._url = '';
    }
    this._source = null;
    this._buffer = null;
  }

  _reset() {
    this._queue = [];
    this._flushAt = null;
    if (this._url) URL.revokeObjectURL(this._url);
    this._url = '';
    this._source = null;
    this._buffer = null;
    this._initAppended = false;
  }

  _open(init) {
    const codecs = sniffCodecs(init);
    const MS = this._MediaSource;
    const type = MS ? chooseType(codecs, (t) => MS.isTypeSupported(t)) : null;
    if (!type) {
      this._stopped = true;
      this.dispatchEvent(new CustomEvent('error', { detail: { message: `no playable type for ${codecs}` } }));
      return;
    }
    const source = (this._source = new MS());
    this.streams += 1;
    this._url = URL.createObjectURL(source);
    this.video.src = this._url;
    source.addEventListener('sourceopen', () => {
      if (this._source !== source) return;
      try {
        const sb = (this._buffer = source.addSourceBuffer(type));
        sb.addEventListener('updateend', () => this._onUpdateEnd());
      } catch (err) {
        this._stopped = true;
        this.dispatchEvent(new CustomEvent('error', { detail: { message: `addSourceBuffer: ${err?.message ?? err}` } }));
        return;
      }
      this.type = type;
      this.dispatchEvent(new CustomEvent('type', { detail: { type, codecs } }));
      this._pump();
    }, { once: true });
  }

  _pump() {
    const sb = this._buffer;
    if (!sb || sb.updating || this._stopped || !this._queue.length) return;
    const next = this._queue[0];
    try {
      sb.appendBuffer(next);
    } catch (err) {
      if (err?.name === 'QuotaExceededError') {
        this._makeRoom();
        return;
      }
      this._queue.shift(); // a piece the buffer refuses is skipped, not retried forever
      this.dispatchEvent(new CustomEvent('error', { detail: { message: `append: ${err?.message ?? err}`, fatal: false } }));
      return;
    }
    this._queue.shift();
    if (isInitSegment(next)) this._initAppended = true;
    this.appended += 1;
  }

  _makeRoom() {
    const sb = this._buffer;
    const upTo = this.video.currentTime - KEEP_BEHIND_S;
    const ranges = this.video.buffered;
    if (!sb || !ranges.length || upTo <= ranges.start(0)) return; // updateend retries
    sb.remove(ranges.start(0), upTo);
  }

  _onUpdateEnd() {
    // An aborted append's updateend comes while the removal still runs: wait for its own.
    if (this._flushAt !== null && !this._buffer?.updating) {
      this.video.currentTime = this._flushAt;
      this._flushAt = null;
    }
    this._skipGap();
    if (this.video.paused && this.video.buffered.length) this.video.play().catch(() => {});
    this._pump();
  }

  /** Jump over a gap between turns: to the next buffered range after the play head. */
  _skipGap() {
    const v = this.video;
    // Below HAVE_FUTURE_DATA (3): nothing ahead of the play head to play.
    const target = gapTarget(v.buffered, v.currentTime, v.readyState < 3);
    if (target !== null) v.currentTime = target;
  }

  _bufferedEnd() {
    const r = this.video.buffered;
    return r.length ? r.end(r.length - 1) : 0;
  }
}
