/**
 * Capture AudioWorkletProcessor: mic input at the context rate (the worklet global
 * `sampleRate`, e.g. 44100 or 48000 Hz) → mono → 16 kHz → clamped PCM16, posted to the
 * main thread in fixed blocks (320 samples = 20 ms = 640 bytes) as transferable
 * ArrayBuffers.
 *
 * Options (processorOptions): targetRate (Hz, default 16000), blockSamples (default 320).
 * Port messages in: {type: 'pause'} (stop posting; keeps state), {type: 'resume'},
 * {type: 'stop'} (let the processor be collected).
 * Port messages out: the ArrayBuffer of each block, transferred.
 *
 * process() allocates only the next block's buffer once the current one is posted
 * (its memory moves to the main thread).
 */

import { floatToInt16Sample } from '../js/pcm.js';
import { StreamingResampler } from '../js/resampler.js';

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = options?.processorOptions ?? {};
    this._targetRate = opts.targetRate ?? 16000;
    this._blockSamples = opts.blockSamples ?? 320;
    this._resampler = new StreamingResampler(sampleRate, this._targetRate);
    this._mono = new Float32Array(128);
    this._resampled = new Float32Array(this._resampler.maxOutput(128));
    this._block = new Int16Array(this._blockSamples);
    this._fill = 0;
    this._paused = false;
    this._alive = true;
    this._transfer = [null]; // reused transfer list
    this.port.onmessage = (ev) => {
      const type = ev.data?.type;
      if (type === 'pause') {
        this._paused = true;
        this._fill = 0;
        this._resampler.reset();
      } else if (type === 'resume') {
        this._paused = false;
      } else if (type === 'stop') {
        this._alive = false;
      }
    };
  }

  process(inputs) {
    if (!this._alive) return false;
    const input = inputs[0];
    if (this._paused || !input || input.length === 0) return true;
    const frames = input[0].length;
    if (this._mono.length < frames) {
      // Render quanta other than 128 frames (a future renderSizeHint): grow once.
      this._mono = new Float32Array(frames);
      this._resampled = new Float32Array(this._resampler.maxOutput(frames));
    }
    const mono = this._mono;
    const channels = input.length;
    if (channels === 1) {
      mono.set(input[0]);
    } else {
      const gain = 1 / channels;
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) s += input[c][i];
        mono[i] = s * gain;
      }
    }
    const src = frames === mono.length ? mono : mono.subarray(0, frames);
    const n = this._resampler.process(src, this._resampled);
    const out = this._resampled;
    for (let i = 0; i < n; i++) {
      this._block[this._fill++] = floatToInt16Sample(out[i]);
      if (this._fill === this._blockSamples) {
        const buffer = this._block.buffer;
        this._transfer[0] = buffer;
        this.port.postMessage(buffer, this._transfer);
        this._block = new Int16Array(this._blockSamples);
        this._fill = 0;
      }
    }
    return true;
  }
}

registerProcessor('capture-processor', CaptureProcessor);
