// Runs in the audio thread: the mic's samples at the context's own rate (44.1 or 48 kHz, whatever the device
// gives; Firefox refuses AudioContexts at other rates) → low-pass → 16 kHz mono s16le, posted in 100 ms frames
// with their RMS level. The main thread sends each frame to the display as one websocket message.
const OUT_RATE = 16000;
const FRAME = 1600; // 100 ms at 16 kHz: one message per frame, not one per 128-sample render quantum
const TAPS = 63;

function lowpass(rate, cutoff, taps) {
  // A windowed-sinc (Blackman) FIR below the new Nyquist, so the decimation does not fold hiss into speech.
  const h = new Float32Array(taps);
  const mid = (taps - 1) / 2;
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff / rate : Math.sin(2 * Math.PI * cutoff / rate * x) / (Math.PI * x);
    const window = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (taps - 1)) + 0.08 * Math.cos(4 * Math.PI * i / (taps - 1));
    h[i] = sinc * window;
    sum += h[i];
  }
  return h.map((v) => v / sum);
}

class VoxframeMic extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    this.taps = lowpass(sampleRate, 0.45 * OUT_RATE, TAPS);
    this.ring = new Float32Array(TAPS);
    this.at = 0; // ring write position
    this.index = -1; // input samples filtered so far, minus one: the index of `current`
    this.previous = 0;
    this.current = 0;
    this.next = 0; // input position (fractional) of the next output sample
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.squares = 0;
  }

  filter(sample) {
    this.ring[this.at] = sample;
    this.at = (this.at + 1) % TAPS;
    let acc = 0;
    for (let i = 0, j = this.at; i < TAPS; i++, j = (j + 1) % TAPS) acc += this.taps[i] * this.ring[j];
    return acc;
  }

  emit(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = clipped < 0 ? clipped * 32768 : clipped * 32767;
    this.squares += clipped * clipped;
    if (this.filled === FRAME) {
      const rms = Math.sqrt(this.squares / FRAME);
      this.port.postMessage({ pcm: this.frame.buffer, rms }, [this.frame.buffer]);
      this.frame = new Int16Array(FRAME);
      this.filled = 0;
      this.squares = 0;
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    for (let n = 0; n < length; n++) {
      let mixed = 0;
      for (const channel of channels) mixed += channel[n];
      this.previous = this.current;
      this.current = this.filter(mixed / channels.length);
      this.index += 1;
      while (this.next <= this.index) { // linear interpolation between the two latest filtered samples
        this.emit(this.previous + (this.current - this.previous) * (this.next - (this.index - 1)));
        this.next += this.step;
      }
    }
    return true;
  }
}

registerProcessor("voxframe-mic", VoxframeMic);
