/**
 * A closed stdout or stderr during a run (`maint run x | head -1`, quitting `less`, a terminal
 * that went away) is a hang-up: nobody can see the run any more, so it stops as if it had been
 * sent SIGHUP. The streams are guarded for the length of the run so that a write to a dead
 * stream is dropped instead of throwing or ending the process half-way through a step.
 */
import { Writable } from 'node:stream';

export type StreamName = 'stdout' | 'stderr';

/** The run's view of stdout and stderr while a run is in progress. */
export interface OutputGuard {
  /** For reporters: forwards to stdout until it is closed, then drops what is written. */
  readonly out: NodeJS.WritableStream;
  /** Writes to stdout; nothing happens once it is closed. */
  stdout(text: string): void;
  /** Writes to stderr; nothing happens once it is closed. */
  stderr(text: string): void;
  /** Whether the stream was found closed. */
  closed(which: StreamName): boolean;
  /**
   * The run is over: a later write error no longer stops anything. The guard's listeners stay:
   * an EPIPE that surfaces after the run must not replace the run's exit code.
   */
  release(): void;
}

/**
 * Take over the `error` events of both streams. `onClosed` is called once, for the first stream
 * found closed, while the guard has not been released.
 */
export function guardOutput(
  streams: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
  onClosed: (which: StreamName, err: NodeJS.ErrnoException) => void,
): OutputGuard {
  const dead: Record<StreamName, boolean> = { stdout: false, stderr: false };
  let released = false;
  let told = false;

  const died = (which: StreamName, err: NodeJS.ErrnoException) => {
    dead[which] = true;
    if (released || told) return;
    told = true;
    onClosed(which, err);
  };

  for (const which of ['stdout', 'stderr'] as const) {
    const stream = streams[which];
    // The process-wide listener (main.ts) ends the process on EPIPE with whatever exit code is
    // set at that moment; during a run that would skip the rollbacks and leave the lock behind.
    stream.removeAllListeners('error');
    stream.on('error', (err: NodeJS.ErrnoException) => died(which, err));
  }

  const write = (which: StreamName, text: string | Uint8Array) => {
    const stream = streams[which];
    if (dead[which] || stream.destroyed || stream.writableEnded) {
      dead[which] = true;
      return;
    }
    try {
      stream.write(text);
    } catch (err) {
      died(which, err as NodeJS.ErrnoException);
    }
  };

  const out = new Writable({
    // Called synchronously by write(), and done at once: no buffering, order kept with stdout().
    write(chunk: Buffer | string, _encoding, callback) {
      write('stdout', chunk);
      callback();
    },
  });
  // A reporter may ask what it writes to.
  Object.assign(out, { isTTY: streams.stdout.isTTY, columns: streams.stdout.columns, rows: streams.stdout.rows });

  return {
    out,
    stdout: (text) => write('stdout', text),
    stderr: (text) => write('stderr', text),
    closed: (which) => dead[which],
    release: () => {
      released = true;
    },
  };
}
