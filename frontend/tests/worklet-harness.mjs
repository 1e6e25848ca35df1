/**
 * Runs an AudioWorkletProcessor module under Node: provides the worklet globals
 * (sampleRate, AudioWorkletProcessor, registerProcessor) and a fake MessagePort.
 */

let seq = 0;

/**
 * @param {string} file path relative to frontend/worklets
 * @param {number} rate the context sample rate (worklet `sampleRate`), Hz
 * @returns {Promise<(options?: object) => {proc: any, posted: any[], send: (data: any) => void}>}
 */
export async function loadProcessor(file, rate) {
  const registered = {};
  globalThis.sampleRate = rate;
  globalThis.AudioWorkletProcessor = class {
    constructor() {
      this.port = { onmessage: null, posted: [], postMessage(data) { this.posted.push(data); } };
    }
  };
  globalThis.registerProcessor = (name, cls) => {
    registered[name] = cls;
  };
  await import(`../worklets/${file}?v=${++seq}`);
  const [cls] = Object.values(registered);
  return (options = {}) => {
    const proc = new cls({ processorOptions: options });
    return { proc, posted: proc.port.posted, send: (data) => proc.port.onmessage({ data }) };
  };
}
