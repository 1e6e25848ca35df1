/**
 * Playback AudioWorkletProcessor: 24 kHz PCM16 chunks in (port messages, transferred
 * ArrayBuffers), converted to the context rate (`sampleRate`) by a streaming resampler
 * into a preallocated ring buffer, played out with an adaptive pre-buffer.
 *
 * processorOptions (all optional):
 *   inputRate (Hz, 24000), prebufferMs (70), maxPrebufferMs (200), prebufferStepMs (20),
 *   capacityMs (10000), reportMs (16), starveTimeoutMs (500).
 *
 * Port messages in:
 *   ArrayBuffer            one chunk of PCM16 LE mono at inputRate
 *   {type: 'flush'}        barge-in: fade out over one render quantum (≤ 3 ms), then drop
 *                          everything queued; answers {type: 'flushed', droppedMs}
 *   {type: 'end'}          the turn ended: play out what is buffered even if it is less
 *                          than the pre-buffer, and do not count the final drain as underrun
 *   {type: 'config', prebufferMs}
 *   {type: 'stop'}
 * Port messages out, every ~reportMs:
 *   {type: 'status', level, bufferedMs, underruns, playing, prebufferMs, droppedMs, played}
 *   level: RMS (0..1) of what was output since the previous report.
 *   played: Float64Array of [frame, position, count] triples, one per render quantum since
 *     the previous report that output audio: at context frame `frame` (currentFrame) the
 *     quantum started playing `count` samples, the first of them at stream `position`.
 *     A stream position counts input samples (inputRate) since the processor started:
 *     the n-th sample ever posted to it is position n, whatever was flushed before it, so
 *     the page can tell which of the samples it sent is being rendered (the playback
 *     clock, player.js). Quanta of silence are left out.
 *   {type: 'flushed', droppedMs, position}: position is where the faded-out audio stops.
 *
 * Underrun policy: when the buffer runs dry mid-turn the output is silence; if more
 * audio of the same turn arrives (within starveTimeoutMs) that gap counts as an underrun
 * and the pre-buffer grows by prebufferStepMs, up to maxPrebufferMs.
 */

import { StreamingResampler } from '../js/resampler.js';
import { FloatRingBuffer } from '../js/ringbuffer.js';

const IDLE = 0; // waiting for the pre-buffer to fill
const PLAYING = 1;
const STARVED = 2; // ran dry mid-turn: silence until data, `end` or the timeout
const FADING = 3; // flushing: one quantum of fade-out

const SLICE = 4096; // input samples converted per step

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options?.processorOptions ?? {};
    const ms = (v) => Math.round((sampleRate * v) / 1000);
    this._inputRate = o.inputRate ?? 24000;
    this._prebufferMs = o.prebufferMs ?? 70;
    this._maxPrebufferMs = o.maxPrebufferMs ?? 200;
    this._stepMs = o.prebufferStepMs ?? 20;
    this._reportFrames = ms(o.reportMs ?? 16);
    this._starveFrames = ms(o.starveTimeoutMs ?? 500);
    this._ring = new FloatRingBuffer(ms(o.capacityMs ?? 10_000));
    this._resampler = new StreamingResampler(this._inputRate, sampleRate, { maxBlock: SLICE });
    this._in = new Float32Array(SLICE);
    this._out = new Float32Array(this._resampler.maxOutput(SLICE));
    this._fade = new Float32Array(128);
    this._fadeLen = 0;
    this._state = IDLE;
    this._ending = false;
    this._starvedFor = 0;
    this._underruns = 0;
    this._dropped = 0; // samples dropped on overflow
    this._sumSq = 0;
    this._sumN = 0;
    this._sinceReport = 0;
    this._alive = true;
    this._ratio = this._inputRate / sampleRate; // stream positions per output sample
    this._received = 0; // input samples received: the next chunk's first position
    this._readPos = 0; // stream position of the next sample in the ring
    this._fadePos = 0;
    this._frames = 0; // rendered by this processor (when `currentFrame` is not provided)
    this._played = new Float64Array(3 * 64);
    this._playedN = 0;
    this.port.onmessage = (ev) => this._onMessage(ev.data);
  }

  _onMessage(data) {
    if (data instanceof ArrayBuffer) {
      this._enqueue(data);
      return;
    }
    switch (data?.type) {
      case 'flush':
        this._flush();
        break;
      case 'end':
        if (this._state === STARVED) this._state = IDLE;
        else if (this._state !== FADING && this._ring.available > 0) this._ending = true;
        break;
      case 'config':
        if (data.prebufferMs > 0) this._prebufferMs = Math.min(data.prebufferMs, 2000);
        break;
      case 'stop':
        this._alive = false;
        break;
      default:
        break;
    }
  }

  _enqueue(buffer) {
    const pcm = new Int16Array(buffer, 0, buffer.byteLength >> 1);
    // After a flush (or at the start) the ring is empty and the resampler fresh: what is
    // played next starts at this chunk's first position.
    if (this._ring.available === 0) this._readPos = this._received;
    this._received += pcm.length;
    const inp = this._in;
    const out = this._out;
    for (let off = 0; off < pcm.length; off += SLICE) {
      const len = Math.min(SLICE, pcm.length - off);
      for (let i = 0; i < len; i++) inp[i] = pcm[off + i] / 32768;
      const n = this._resampler.process(len === SLICE ? inp : inp.subarray(0, len), out);
      this._dropped += n - this._ring.push(out, 0, n);
    }
    this._ending = false;
    if (this._state === STARVED && pcm.length > 0) {
      this._underruns++;
      this._prebufferMs = Math.min(this._maxPrebufferMs, this._prebufferMs + this._stepMs);
      this._state = IDLE;
    }
  }

  _flush() {
    const dropped = this._ring.available;
    let cut = this._readPos; // where what was played stops
    if (this._state === PLAYING) {
      this._fadePos = this._readPos;
      this._fadeLen = this._ring.pull(this._fade, 0, this._fade.length);
      cut = this._fadePos + this._fadeLen * this._ratio;
      this._state = this._fadeLen > 0 ? FADING : IDLE;
    } else if (this._state === FADING) {
      cut = this._fadePos + this._fadeLen * this._ratio;
    } else {
      this._state = IDLE;
    }
    this._ring.clear();
    this._resampler.reset();
    this._ending = false;
    this._readPos = this._received;
    this.port.postMessage({ type: 'flushed', droppedMs: (dropped * 1000) / sampleRate, position: cut });
  }

  process(_inputs, outputs) {
    if (!this._alive) return false;
    const channels = outputs[0];
    const out = channels[0];
    const frames = out.length;
    const ring = this._ring;
    if (this._state === IDLE) {
      const prebuffer = (sampleRate * this._prebufferMs) / 1000;
      if (ring.available >= prebuffer || (this._ending && ring.available > 0)) this._state = PLAYING;
    }
    const frame = typeof currentFrame === 'number' ? currentFrame : this._frames;
    this._frames += frames;
    if (this._state === PLAYING) {
      const n = ring.pull(out, 0, frames);
      if (n < frames) out.fill(0, n);
      this._mark(frame, this._readPos, n);
      this._readPos += n * this._ratio;
      if (ring.available === 0) {
        if (this._ending) {
          this._ending = false;
          this._state = IDLE;
        } else {
          this._state = STARVED;
          this._starvedFor = 0;
        }
      }
    } else if (this._state === FADING) {
      const len = this._fadeLen;
      for (let i = 0; i < frames; i++) out[i] = i < len ? this._fade[i] * (1 - (i + 1) / len) : 0;
      this._mark(frame, this._fadePos, len);
      this._state = IDLE;
    } else {
      out.fill(0);
      if (this._state === STARVED) {
        this._starvedFor += frames;
        if (this._starvedFor >= this._starveFrames) this._state = IDLE;
      }
    }
    for (let c = 1; c < channels.length; c++) channels[c].set(out);
    let sum = 0;
    for (let i = 0; i < frames; i++) sum += out[i] * out[i];
    this._sumSq += sum;
    this._sumN += frames;
    this._sinceReport += frames;
    if (this._sinceReport >= this._reportFrames) this._report();
    return true;
  }

  /** Remember that `count` samples from stream `position` started at context `frame`. */
  _mark(frame, position, count) {
    if (count <= 0) return;
    if (this._playedN * 3 >= this._played.length) this._report();
    const i = this._playedN++ * 3;
    this._played[i] = frame;
    this._played[i + 1] = position;
    this._played[i + 2] = count;
  }

  _report() {
    const played = this._played.slice(0, this._playedN * 3);
    this._playedN = 0;
    this.port.postMessage({
      type: 'status',
      level: this._sumN > 0 ? Math.sqrt(this._sumSq / this._sumN) : 0,
      bufferedMs: (this._ring.available * 1000) / sampleRate,
      underruns: this._underruns,
      playing: this._state === PLAYING,
      prebufferMs: this._prebufferMs,
      droppedMs: (this._dropped * 1000) / sampleRate,
      played,
    }, [played.buffer]);
    this._sumSq = 0;
    this._sumN = 0;
    this._sinceReport = 0;
  }
}

registerProcessor('playback-processor', PlaybackProcessor);
