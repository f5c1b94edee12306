import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

/** Peak RSS (VmHWM) of a process, read until it exits. */
function watchPeak(pid: number, stop: Promise<unknown>): Promise<number> {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  };
  const timer = setInterval(read, 20);
  return stop.then(() => {
    clearInterval(timer);
    return peak;
  });
}

describe('memory', () => {
  it('a step printing 1 GB keeps maint within ~30 MB of an idle run', async () => {
    const dir = project({
      'idle.yaml': 'steps:\n  - { name: idle, run: "sleep 0.5" }\n',
      'big.yaml': 'steps:\n  - name: one gigabyte\n    run: head -c 1000000000 /dev/zero | tr "\\\\0" "a"\n',
    });
    const measure = async (name: string) => {
      let peak: Promise<number> = Promise.resolve(0);
      const result = maint(['run', name, '-q'], { cwd: dir, onSpawn: (child) => { peak = watchPeak(child.pid!, new Promise((r) => child.on('close', r))); } });
      const r = await result;
      return { code: r.code, peak: await peak };
    };
    // Peaks wobble with GC timing: take the lower of two runs of each.
    const lower = (a: { code: number | null; peak: number }, b: { code: number | null; peak: number }) => (a.peak <= b.peak ? a : b);
    const idle = lower(await measure('idle'), await measure('idle'));
    const big = lower(await measure('big'), await measure('big'));
    expect(idle.code).toBe(0);
    expect(big.code).toBe(0);
    const growthMb = (big.peak - idle.peak) / 1024 / 1024;
    console.log(`peak RSS: idle ${(idle.peak / 1048576).toFixed(1)} MB, 1 GB step ${(big.peak / 1048576).toFixed(1)} MB, +${growthMb.toFixed(1)} MB`);
    expect(idle.peak).toBeGreaterThan(10 * 1024 * 1024);
    expect(growthMb).toBeLessThan(30);
  }, 120_000);
});
