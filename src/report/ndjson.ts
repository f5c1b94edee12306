/**
 * `--json`: the run as newline-delimited JSON on stdout, one object per event and nothing else,
 * for `jq` and release tooling.
 *
 * Each line is the executor's event with its fields unchanged, plus two added in front:
 *
 *   {"v":1,"ts":"2026-11-29T02:00:01.000Z","type":"step:start","time":1795917601000,"qid":"disk",…}
 *
 * - `v`: the line format's version. It changes only when a field is removed or changes meaning;
 *   new event types and new fields may appear without a bump, so consumers should ignore what
 *   they do not know.
 * - `ts`: `time` (epoch milliseconds) as an ISO 8601 UTC string, for people reading the stream.
 *
 * `step:output` events are included: a machine consumer wants the output, and the executor
 * already bounds each chunk. Their `text` is a chunk as the process wrote it (not a line: it may
 * end mid-line, and stdout and stderr chunks interleave); a rollback's output has the qid
 * `<qid>:rollback`. To drop output: `jq -c 'select(.type != "step:output")'`.
 *
 * Every text is masked by the executor before it gets here. Given the run's {@link Masker}, this
 * module masks step outputs once more as whole values: an output can be a number or a list (`int()`
 * of a numeric secret), which masking strings alone leaves as it is.
 * A consumer that goes away (`maint run --json | head`) must not stop a maintenance run midway:
 * a failing stdout is noted and further lines are dropped, the run goes on.
 */
import type { RunEvent } from '../exec/events.js';
import { maskDeep, type Masker } from '../exec/mask.js';
import type { Reporter } from './reporter.js';

/** The line format's version, the `v` of every line. */
export const NDJSON_VERSION = 1;

/** One event as its NDJSON line, newline included. */
export function ndjsonLine(e: RunEvent): string {
  return JSON.stringify({ v: NDJSON_VERSION, ts: isoTime(e.time), ...e }, jsonSafe) + '\n';
}

export function createNdjsonReporter(out: NodeJS.WritableStream, masker?: Masker): Reporter {
  let broken = false;
  /** The last write was buffered beyond the stream's high-water mark: close() waits for it. */
  let backlog = false;
  const onError = () => {
    broken = true;
  };
  out.on('error', onError);

  return {
    handle(e: RunEvent) {
      if (broken) return;
      try {
        // Outputs are few and small: masking them again costs nothing a run would notice.
        const safe = masker && e.type === 'step:end' && e.outputs ? { ...e, outputs: maskDeep(e.outputs, masker) as Record<string, unknown> } : e;
        backlog = !out.write(ndjsonLine(safe));
      } catch {
        broken = true;
      }
    },
    async close() {
      if (!broken && backlog) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
          out.on('close', done);
        });
      }
      // The error listener stays: a write still buffered may fail after close(), and an
      // unhandled EPIPE must not crash maint while it records the run.
    },
  };
}

function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * Step outputs are plain values, but JSON.stringify throws on a bigint (CEL's int) and that must
 * never end a run: bigints become numbers when exact, strings otherwise.
 */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  return value;
}
