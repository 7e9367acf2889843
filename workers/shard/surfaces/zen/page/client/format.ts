/**
 * How the status page writes times and numbers: countdowns to a cooldown's end, the time of a last error, counts and
 * figure names. Pure and free of the DOM.
 *
 * @module
 */

const pad = (n: number): string => String(n).padStart(2, '0');

/** The time left until `until`, seen at `now` (both epoch ms): `17 s`, `4 min 05 s`, `3 h 12 min`, `2 d 3 h`. */
export function countdown(until: number, now: number): string {
  const seconds = Math.max(0, Math.ceil((until - now) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${pad(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${pad(minutes % 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A wall-clock time in UTC, `12:00:03`: what the status answer and the logs use, whatever the phone's zone. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** A count as people read it: `950`, `12.3k`, `4.56M`. */
export function compact(n: number): string {
  const abs = Math.abs(n);
  if (abs < 10_000) return String(Math.round(n * 100) / 100);
  if (abs < 1_000_000) return `${(n / 1000).toFixed(abs < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(abs < 100_000_000 ? 2 : 0)}M`;
}

/** `1 call`, `12 calls`. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A figure's name as a column heading: `promptTokens` → `prompt tokens`, `cached_tokens` → `cached tokens`. */
export function heading(name: string): string {
  return name
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
