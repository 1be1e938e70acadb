/**
 * The urgent-incident alarm tone: a short two-tone beep synthesised with WebAudio (no sound file
 * to fetch). Browsers keep audio suspended until the user has interacted with the page; the
 * context is created on the first gesture and a beep before that is silently skipped (the red
 * banner still shows).
 */
let context: AudioContext | null = null;
let armed = false;

function unlock(): void {
  try {
    context ??= new AudioContext();
    if (context.state === 'suspended') void context.resume().catch(() => undefined);
  } catch {
    context = null;
  }
}

/** Listens for the first user gesture that allows audio (call once, from the command view). */
export function armAlarmSound(): void {
  if (armed || typeof window === 'undefined') return;
  armed = true;
  const once = () => {
    unlock();
    window.removeEventListener('pointerdown', once, true);
    window.removeEventListener('keydown', once, true);
  };
  window.addEventListener('pointerdown', once, true);
  window.addEventListener('keydown', once, true);
}

/** Plays the alarm once; returns false when the browser does not allow sound yet. */
export function playAlarm(): boolean {
  const ctx = context;
  if (!ctx || ctx.state !== 'running') return false;
  const start = ctx.currentTime + 0.02;
  const gain = ctx.createGain();
  gain.connect(ctx.destination);
  gain.gain.setValueAtTime(0.0001, start);
  [880, 660, 880].forEach((freq, i) => {
    const t = start + i * 0.22;
    const osc = ctx.createOscillator();
    osc.type = 'square';
    osc.frequency.setValueAtTime(freq, t);
    osc.connect(gain);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
    osc.start(t);
    osc.stop(t + 0.2);
  });
  return true;
}
