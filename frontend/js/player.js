/**
 * Player: plays the avatar's voice (24 kHz PCM16 chunks) through the playback worklet.
 *
 * Graph: AudioWorkletNode('playback-processor') → AnalyserNode → MediaStreamAudio-
 * DestinationNode → <audio>.srcObject. Why not straight to context.destination: Chromium's
 * echo canceller (the `echoCancellation` constraint on the mic) only removes audio it
 * knows is being played, and it reliably sees media-element/WebRTC output but not always
 * raw Web Audio output; routing the voice through an <audio> element lets it subtract the
 * avatar's voice from the mic, so the avatar does not interrupt itself on speakers. The
 * AnalyserNode sits on the same path and gives the level the mouth follows. When the
 * element route is unavailable (no createMediaStreamDestination, or play() is refused)
 * the analyser is connected to context.destination instead.
 *
 * Events (CustomEvent): 'status' (detail: worklet report, ~60/s), 'playing', 'stopped',
 * 'flushed' (detail: {droppedMs}), 'underrun' (detail: {underruns, prebufferMs}).
 */

import { loadWorklet } from './audio-context.js';

const DEFAULT_WORKLET = new URL('../worklets/playback-processor.js', import.meta.url);
/** Band edges for lip-sync, Hz. */
const BANDS = Object.freeze({ low: [150, 900], mid: [900, 2500], high: [2500, 6000] });

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
    this._freq = null;
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
    this._analyser = new AnalyserNode(ctx, { fftSize: 1024, smoothingTimeConstant: 0 });
    this._time = new Float32Array(this._analyser.fftSize);
    this._freq = new Float32Array(this._analyser.frequencyBinCount);
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
   * RMS of what is being played right now, from the AnalyserNode.
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
   * Level and coarse band energies for lip-sync (read from the analyser; call at most
   * once per animation frame).
   * @returns {{level: number, bands: {low: number, mid: number, high: number}|null}}
   */
  features() {
    const level = this.outputLevel();
    if (!this._analyser || level === 0) return { level, bands: null };
    this._analyser.getFloatFrequencyData(this._freq);
    const binHz = this.context.sampleRate / this._analyser.fftSize;
    const bands = { low: 0, mid: 0, high: 0 };
    for (const [name, [lo, hi]] of Object.entries(BANDS)) {
      const a = Math.max(1, Math.floor(lo / binHz));
      const b = Math.min(this._freq.length - 1, Math.ceil(hi / binHz));
      let e = 0;
      for (let i = a; i <= b; i++) e += Math.pow(10, this._freq[i] / 10);
      bands[name] = e;
    }
    return { level, bands };
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
