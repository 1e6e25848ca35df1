/**
 * Player: plays the avatar's voice (24 kHz PCM16 chunks) through the playback worklet.
 *
 * Graph: AudioWorkletNode('playback-processor') → AnalyserNode → MediaStreamAudio-
 * DestinationNode → <audio>.srcObject. Why not straight to context.destination: Chromium's
 * echo canceller (the `echoCancellation` constraint on the mic) only removes audio it
 * knows is being played, and it reliably sees media-element/WebRTC output but not always
 * raw Web Audio output; routing the voice through an <audio> element lets it subtract the
 * avatar's voice from the mic, so the avatar does not interrupt itself on speakers. The
 * AnalyserNode on the same path measures what is rendered (`outputLevel`, and the page's
 * own audio/video offset check, avsync.js); the mouth does not follow it, since it sees
 * the audio before it is heard. When the element route is unavailable (no
 * createMediaStreamDestination, or play() is refused) the analyser is connected to
 * context.destination instead.
 *
 * The playback clock: the player keeps what it enqueued by stream position
 * (voice-history.js) and the worklet reports which positions it rendered at which context
 * frame (playback-clock.js); with the output device's timestamp that gives the sample
 * heard at any moment (`heardPosition`), the features the mouth follows (`features`), and
 * the position where a barge-in cut the voice (`flushed`'s `position`).
 *
 * Events (CustomEvent): 'status' (detail: worklet report, ~60/s), 'playing', 'stopped',
 * 'flushed' (detail: {droppedMs, position}), 'underrun' (detail: {underruns, prebufferMs}).
 */

import { loadWorklet } from './audio-context.js';
import { heardContextTime, PlaybackClock } from './playback-clock.js';
import { VoiceHistory } from './voice-history.js';

const DEFAULT_WORKLET = new URL('../worklets/playback-processor.js', import.meta.url);

export class Player extends EventTarget {
  /**
   * @param {AudioContext} context shared context (created after a user gesture)
   * @param {object} [options]
   * @param {string|URL} [options.workletUrl]
   * @param {number} [options.inputRate=24000] rate of the chunks, Hz
   * @param {number} [options.prebufferMs=70] audio buffered before playback starts, ms
   * @param {number} [options.maxPrebufferMs=200] ceiling for the adaptive pre-buffer, ms
   * @param {number} [options.capacityMs=10000] ring buffer size, ms
   * @param {boolean} [options.useMediaElement=true] route through an <audio> element
   */
  constructor(context, options = {}) {
    super();
    this.context = context;
    this._opts = {
      workletUrl: DEFAULT_WORKLET,
      inputRate: 24_000,
      prebufferMs: 70,
      maxPrebufferMs: 200,
      capacityMs: 10_000,
      useMediaElement: true,
      ...options,
    };
    /** whether audio is being output right now */
    this.playing = false;
    /** underruns counted by the worklet */
    this.underruns = 0;
    /** current adaptive pre-buffer, ms */
    this.prebufferMs = this._opts.prebufferMs;
    /** audio queued in the worklet, ms */
    this.bufferedMs = 0;
    /** RMS of the output over the last report (~16 ms), from the worklet */
    this.level = 0;
    /** @type {'element'|'destination'|null} where the output goes, once started */
    this.route = null;
    this._node = null;
    this._analyser = null;
    this._dest = null;
    this._audioEl = null;
    this._started = null;
    this._stopped = false;
    this._time = null;
    /** what was enqueued, by stream position (24 kHz samples since start) */
    this.history = new VoiceHistory({ rate: this._opts.inputRate });
    /** @type {PlaybackClock|null} */
    this.clock = null;
  }

  /**
   * Load the worklet and build the graph. Safe to call more than once.
   * @returns {Promise<void>}
   */
  start() {
    this._started ??= this._start();
    return this._started;
  }

  async _start() {
    const ctx = this.context;
    await loadWorklet(ctx, this._opts.workletUrl);
    if (this._stopped) return;
    this._node = new AudioWorkletNode(ctx, 'playback-processor', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: {
        inputRate: this._opts.inputRate,
        prebufferMs: this._opts.prebufferMs,
        maxPrebufferMs: this._opts.maxPrebufferMs,
        capacityMs: this._opts.capacityMs,
      },
    });
    this._node.port.onmessage = (ev) => this._onWorklet(ev.data);
    this.clock = new PlaybackClock({ sampleRate: ctx.sampleRate, inputRate: this._opts.inputRate });
    this._analyser = new AnalyserNode(ctx, { fftSize: 1024, smoothingTimeConstant: 0 });
    this._time = new Float32Array(this._analyser.fftSize);
    this._node.connect(this._analyser);
    if (this._opts.useMediaElement && (await this._routeThroughElement())) {
      this.route = 'element';
    } else {
      this._analyser.connect(ctx.destination);
      this.route = 'destination';
    }
  }

  async _routeThroughElement() {
    if (typeof this.context.createMediaStreamDestination !== 'function') return false;
    try {
      this._dest = this.context.createMediaStreamDestination();
      this._analyser.connect(this._dest);
      const el = document.createElement('audio');
      el.autoplay = true;
      el.srcObject = this._dest.stream;
      this._audioEl = el;
      await el.play();
      return true;
    } catch {
      // No element route, or autoplay refused it: the caller plays through the destination.
      this._analyser.disconnect();
      this._dest = null;
      this._audioEl = null;
      return false;
    }
  }

  /**
   * Queue one chunk of PCM16 LE mono at `inputRate`. The buffer is transferred (it is
   * unusable afterwards).
   * @param {ArrayBuffer} buffer
   */
  enqueue(buffer) {
    if (!this._node || this._stopped || buffer.byteLength < 2) return;
    this.history.push(new Int16Array(buffer, 0, buffer.byteLength >> 1));
    this._node.port.postMessage(buffer, [buffer]);
  }

  /** Barge-in: fade out within one render quantum and drop everything queued. */
  flush() {
    this._node?.port.postMessage({ type: 'flush' });
  }

  /** The turn ended: play what is left even if shorter than the pre-buffer. */
  endOfTurn() {
    this._node?.port.postMessage({ type: 'end' });
  }

  /**
   * RMS of what the graph rendered last (the AnalyserNode: ahead of what is heard by the
   * output latency). For measurements, not for the mouth.
   * @returns {number} 0..1
   */
  outputLevel() {
    if (!this._analyser) return 0;
    this._analyser.getFloatTimeDomainData(this._time);
    let sum = 0;
    const t = this._time;
    for (let i = 0; i < t.length; i++) sum += t[i] * t[i];
    return Math.sqrt(sum / t.length);
  }

  /**
   * The stream position heard at `perfNow` (performance.now() ms), or null when silence
   * is heard then. Moments a little ahead (what the worklet already rendered, or still
   * holds while it plays) are answered too.
   * @param {number} [perfNow]
   * @returns {number|null}
   */
  heardPosition(perfNow = performance.now()) {
    if (!this.clock || this._stopped) return null;
    const frame = heardContextTime(this.context, perfNow) * this.context.sampleRate;
    const ahead = this.playing ? (this.bufferedMs * this.context.sampleRate) / 1000 : 0;
    return this.clock.positionAt(frame, ahead);
  }

  /**
   * The furthest stream position heard by `perfNow` (through silences), or -1.
   * @param {number} [perfNow]
   * @returns {number}
   */
  heardThrough(perfNow = performance.now()) {
    if (!this.clock) return -1;
    return this.clock.playedThrough(heardContextTime(this.context, perfNow) * this.context.sampleRate);
  }

  /**
   * Level and coarse band energies of the voice heard at `perfNow`: a 20 ms window
   * centred on the sample heard then (call at most once per animation frame).
   * @param {number} [perfNow]
   * @returns {{level: number, bands: {low: number, mid: number, high: number}|null}}
   */
  features(perfNow = performance.now()) {
    const pos = this.heardPosition(perfNow);
    if (pos === null) return { level: 0, bands: null };
    const level = this.history.level(pos);
    return { level, bands: level > 0 ? this.history.bands(pos) : null };
  }

  /** Stop playback and release the graph. Idempotent. */
  stop() {
    if (this._stopped) return;
    this._stopped = true;
    if (this._node) {
      this._node.port.postMessage({ type: 'stop' });
      this._node.port.onmessage = null;
      this._node.disconnect();
    }
    this._analyser?.disconnect();
    if (this._audioEl) {
      this._audioEl.pause();
      this._audioEl.srcObject = null;
    }
    if (this.playing) {
      this.playing = false;
      this.dispatchEvent(new CustomEvent('stopped'));
    }
    this._node = this._analyser = this._dest = this._audioEl = null;
  }

  _onWorklet(msg) {
    if (msg?.type === 'flushed') {
      this.dispatchEvent(new CustomEvent('flushed', { detail: msg }));
      return;
    }
    if (msg?.type !== 'status') return;
    if (msg.played) this.clock?.add(msg.played);
    this.level = msg.level;
    this.bufferedMs = msg.bufferedMs;
    this.prebufferMs = msg.prebufferMs;
    if (msg.underruns !== this.underruns) {
      this.underruns = msg.underruns;
      this.dispatchEvent(new CustomEvent('underrun', { detail: { underruns: msg.underruns, prebufferMs: msg.prebufferMs } }));
    }
    if (msg.playing !== this.playing) {
      this.playing = msg.playing;
      this.dispatchEvent(new CustomEvent(msg.playing ? 'playing' : 'stopped'));
    }
    this.dispatchEvent(new CustomEvent('status', { detail: msg }));
  }
}
