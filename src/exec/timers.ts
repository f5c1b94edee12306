/**
 * Timers that keep their word for any delay. Node's setTimeout turns a delay above 2^31-1 ms
 * (about 24.8 days) into 1 ms, so a long retry delay or timeout would fire at once; these wait
 * in chunks instead.
 */

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` once, after `ms` (negative or NaN: at once, on the next turn). Returns how to cancel.
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let left = ms > 0 ? ms : 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const chunk = Math.min(left, MAX_TIMER_MS);
    left -= chunk;
    timer = setTimeout(() => (left > 0 ? arm() : fn()), chunk);
  };
  arm();
  return () => clearTimeout(timer);
}

/** A delay that ends early when `signal` aborts (already aborted: at once). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const cancel = setLongTimeout(done, ms);
    function done() {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
