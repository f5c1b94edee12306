import type { RunEvent } from '../exec/events.js';
import type { Plan } from '../plan/types.js';

/** A consumer of the executor's events that shows the run to people or machines. */
export interface Reporter {
  handle(event: RunEvent): void;
  /** Stop drawing while a question is asked on the terminal, and draw again after. */
  suspend?(): void;
  resume?(): void;
  /** Flush and release the terminal. */
  close(): Promise<void>;
}

export interface ReporterOptions {
  plan: Plan;
  out: NodeJS.WritableStream;
  color: boolean;
  verbose: boolean;
  quiet: boolean;
  /** Lines of a step's output shown while it runs (a bounded tail). */
  tailLines: number;
}
