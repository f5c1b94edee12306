import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout, sleep } from '../../../src/exec/timers.js';

describe('timers longer than setTimeout can hold', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('setLongTimeout fires after the whole delay, not after 1 ms', () => {
    const fn = vi.fn();
    setLongTimeout(fn, 2 ** 31 + 5_000);
    vi.advanceTimersByTime(1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2 ** 31 + 5_000 - MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('a delay of exactly the limit is one timer', () => {
    const fn = vi.fn();
    setLongTimeout(fn, MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('cancel stops it, in any chunk', () => {
    const fn = vi.fn();
    const cancel = setLongTimeout(fn, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    cancel();
    vi.advanceTimersByTime(3 * MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each([[0], [-5], [Number.NaN]])('a delay of %s fires on the next turn', (ms) => {
    const fn = vi.fn();
    setLongTimeout(fn, ms);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('sleep waits a long delay in full', async () => {
    let done = false;
    void sleep(2 ** 31 + 1_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(true);
  });

  it('sleep ends early when the signal aborts, and at once when already aborted', async () => {
    const c = new AbortController();
    let done = false;
    void sleep(60_000, c.signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    c.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await sleep(60_000, c.signal);
  });
});
