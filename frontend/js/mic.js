/**
 * MicCapture: the microphone as 20 ms blocks of 16 kHz PCM16 (640-byte ArrayBuffers).
 *
 * Conversion happens in worklets/capture-processor.js, off the main thread; this class
 * only opens the device, wires the graph and forwards the blocks.
 *
 * Events (CustomEvent): 'audio' (detail: {buffer: ArrayBuffer}, transferred from the
 * worklet: the listener owns it), 'mute' (detail: {muted}), 'ended' (the device went away).
 */

import { loadWorklet } from './audio-context.js';

const DEFAULT_WORKLET = new URL('../worklets/capture-processor.js', import.meta.url);

/**
 * Why the microphone could not be opened.
 * kind: 'denied' (permission refused), 'not-found' (no microphone), 'in-use' (another
 * program holds it / hardware error), 'insecure' (page not on https or localhost),
 * 'unsupported' (no getUserMedia / AudioWorklet), 'other'.
 */
export class MicError extends Error {
  /**
   * @param {'denied'|'not-found'|'in-use'|'insecure'|'unsupported'|'other'} kind
   * @param {string} message
   * @param {unknown} [cause]
   */
  constructor(kind, message, cause) {
    super(message);
    this.name = 'MicError';
    this.kind = kind;
    this.cause = cause;
  }
}

/**
 * Map a getUserMedia rejection to a MicError.
 * @param {unknown} err
 * @returns {MicError}
 */
export function classifyMicError(err) {
  const name = /** @type {any} */ (err)?.name ?? '';
  const text = /** @type {any} */ (err)?.message ?? String(err);
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') {
    return new MicError('denied', 'Microphone permission was denied.', err);
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return new MicError('not-found', 'No microphone was found.', err);
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return new MicError('in-use', 'The microphone could not be started.', err);
  }
  return new MicError('other', `The microphone failed: ${text}`, err);
}

export class MicCapture extends EventTarget {
  /**
   * @param {AudioContext} context shared context (created after a user gesture)
   * @param {object} [options]
   * @param {string|URL} [options.workletUrl]
   * @param {number} [options.targetRate=16000] Hz
   * @param {number} [options.blockSamples=320] samples per block (20 ms at 16 kHz)
   * @param {string} [options.deviceId]
   */
  constructor(context, options = {}) {
    super();
    this.context = context;
    this._opts = { workletUrl: DEFAULT_WORKLET, targetRate: 16_000, blockSamples: 320, ...options };
    /** whether blocks are withheld */
    this.muted = false;
    this._stream = null;
    this._source = null;
    this._node = null;
    this._started = null;
    this._stopped = false;
  }

  /**
   * Ask for the microphone and start producing blocks. Safe to call more than once.
   * Opening the device starts the clock on its audio, so the graph is connected right
   * after getUserMedia resolves.
   * @returns {Promise<void>}
   * @throws {MicError}
   */
  start() {
    this._started ??= this._start();
    return this._started;
  }

  async _start() {
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.getUserMedia) {
      throw globalThis.isSecureContext === false
        ? new MicError('insecure', 'The microphone needs https:// (or localhost).')
        : new MicError('unsupported', 'This browser cannot capture audio.');
    }
    if (!this.context.audioWorklet) {
      throw new MicError('unsupported', 'This browser has no AudioWorklet support.');
    }
    await loadWorklet(this.context, this._opts.workletUrl); // before the device opens
    let stream;
    try {
      stream = await md.getUserMedia({
        audio: {
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
          channelCount: { ideal: 1 },
          ...(this._opts.deviceId ? { deviceId: { exact: this._opts.deviceId } } : {}),
        },
        video: false,
      });
    } catch (err) {
      throw classifyMicError(err);
    }
    if (this._stopped) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    this._stream = stream;
    const track = stream.getAudioTracks()[0];
    track?.addEventListener('ended', () => this.dispatchEvent(new CustomEvent('ended')));
    if (track) track.enabled = !this.muted;
    this._source = new MediaStreamAudioSourceNode(this.context, { mediaStream: stream });
    this._node = new AudioWorkletNode(this.context, 'capture-processor', {
      numberOfInputs: 1,
      numberOfOutputs: 1, // an output wired to the destination keeps the node pulled everywhere
      outputChannelCount: [1],
      processorOptions: { targetRate: this._opts.targetRate, blockSamples: this._opts.blockSamples },
    });
    this._node.port.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer && !this.muted) {
        this.dispatchEvent(new CustomEvent('audio', { detail: { buffer: ev.data } }));
      }
    };
    if (this.muted) this._node.port.postMessage({ type: 'pause' });
    this._source.connect(this._node);
    this._node.connect(this.context.destination); // the processor writes silence
  }

  /**
   * Whether the browser cancels echo on the open track, as its settings report it.
   * @returns {boolean|null} null while closed, or when the browser does not say
   */
  get echoCancellation() {
    const settings = this._stream?.getAudioTracks()[0]?.getSettings?.();
    return typeof settings?.echoCancellation === 'boolean' ? settings.echoCancellation : null;
  }

  /**
   * Stop or resume sending blocks (the track is disabled too, so the browser's mic
   * indicator reflects it).
   * @param {boolean} muted
   */
  setMuted(muted) {
    if (muted === this.muted) return;
    this.muted = muted;
    const track = this._stream?.getAudioTracks()[0];
    if (track) track.enabled = !muted;
    this._node?.port.postMessage({ type: muted ? 'pause' : 'resume' });
    this.dispatchEvent(new CustomEvent('mute', { detail: { muted } }));
  }

  /** Release the device and the graph. Idempotent. */
  stop() {
    if (this._stopped) return;
    this._stopped = true;
    if (this._node) {
      this._node.port.postMessage({ type: 'stop' });
      this._node.port.onmessage = null;
      this._node.disconnect();
    }
    this._source?.disconnect();
    this._stream?.getTracks().forEach((t) => t.stop());
    this._node = this._source = this._stream = null;
  }
}
