/** Durations as runbooks write them: `500ms`, `30s`, `5m`, `4h`, `7d`, or compounds like `1h30m`. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds for a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === '') return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return null;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
  }
  // Hundreds of digits read as Infinity: no duration a runbook means.
  return Number.isSafeInteger(Math.round(total)) ? Math.round(total) : null;
}

/**
 * The longest wait a timer can hold: Node fires a longer `setTimeout` after 1 ms. Timeouts, retry
 * delays and kill graces are timers, so they are at most this: 24d 20h 31m 23.647s.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Short human form of milliseconds: `850ms`, `12.3s`, `4m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${String(totalS % 60).padStart(2, '0')}s`;
  const totalM = Math.round(totalS / 60);
  return `${Math.floor(totalM / 60)}h${String(totalM % 60).padStart(2, '0')}m`;
}
