/*
 * The console's alert sound: a short two-tone beep synthesised with the Web Audio API, so no
 * audio file is shipped or fetched. Browsers only let a page play sound after the user has
 * interacted with it, so the AudioContext is created (or resumed) in the click handler of the
 * "enable sound" toggle, and reused afterwards.
 */

const SOUND_STORAGE_KEY = 'cityops.console.sound';

let context: AudioContext | null = null;

/** Call from a click/tap handler: creates or resumes the AudioContext while the gesture counts. */
export async function unlockAudio(): Promise<boolean> {
  try {
    context ??= new AudioContext();
    if (context.state === 'suspended') await context.resume();
    return context.state === 'running';
  } catch {
    return false;
  }
}

/** Two 120 ms tones (880 Hz, then 660 Hz); silent when audio is not unlocked yet. */
export function beep(): void {
  if (context === null || context.state !== 'running') return;
  const start = context.currentTime;
  for (const [i, hz] of [880, 660].entries()) {
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.type = 'square';
    osc.frequency.value = hz;
    const t0 = start + i * 0.16;
    // A short ramp in and out: a hard start or stop clicks.
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(0.15, t0 + 0.01);
    gain.gain.linearRampToValueAtTime(0, t0 + 0.12);
    osc.connect(gain).connect(context.destination);
    osc.start(t0);
    osc.stop(t0 + 0.13);
  }
}

export function soundWanted(): boolean {
  try {
    return window.localStorage.getItem(SOUND_STORAGE_KEY) === 'on';
  } catch {
    return false;
  }
}

export function rememberSound(on: boolean): void {
  try {
    window.localStorage.setItem(SOUND_STORAGE_KEY, on ? 'on' : 'off');
  } catch {
    // Storage disabled by policy: the toggle works for this page only.
  }
}
