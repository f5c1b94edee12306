/**
 * Shared by the GitHub Actions and GitLab CI reporters: a log where one collapsible section is
 * open at a time (neither can nest or interleave them), line splitting with bounds, and the
 * words both use for results.
 */
import { randomBytes } from 'node:crypto';
import { stripVTControlCharacters } from 'node:util';
import type { RunEvent, RunStatus, StepStatus } from '../exec/events.js';
import { appendToLine } from './tail.js';

/** One section: a command step's or a rollback's command and output. */
export interface Section {
  /** The step's qid, or `<qid>:rollback`. */
  key: string;
  title: string;
  command?: string;
  startTime: number;
  /** 1, 2, 3, … in the order sections were opened. */
  seq: number;
  /** Random, unguessable: for markers output must not be able to forge. */
  nonce: string;
}

/** How a CI system draws a section. */
export interface SectionStyle {
  /** Lines that open the section. `outcome` is known when the section is printed after it ended. */
  open(s: Section, outcome?: 'ok' | 'bad'): string[];
  /** Lines that close it. */
  close(s: Section, endTime: number): string[];
  /** One output line (no newline in it) made safe to print inside the section. */
  line(text: string): string;
}

export const SECTION_LIMITS = {
  /** Lines printed as they come. */
  head: 4000,
  /** Then the last lines, printed when the step ends. */
  tail: 1000,
  /** Characters per line; longer lines are cut with `…`. */
  lineLength: 4000,
};

interface Block {
  section: Section;
  live: boolean;
  headCount: number;
  /** Head lines not printed yet (the section is buffered). */
  headBuf: string[];
  tail: string[];
  dropped: number;
  splitter: LineSplitter;
}

type SectionEvent = Extract<RunEvent, { type: 'step:start' | 'step:output' | 'rollback:start' }>;

/**
 * What both CI formats do with these events: a command step or a rollback opens a section, a
 * group or manual step is one line (styled by `line`), and output of a step that has no section
 * (one restored by resume) opens one under its id. False for every other event.
 */
export function logSectionEvent(log: SectionedLog, e: RunEvent, line: (text: string) => string): e is SectionEvent {
  switch (e.type) {
    case 'step:start': {
      const title = `${e.phase === 'finally' ? 'finally: ' : ''}${e.name}`;
      if (e.command !== undefined) log.open(e.qid, { title, command: e.command, time: e.time });
      else log.say([line(`▸ ${title}`)]);
      return true;
    }
    case 'step:output':
      if (!log.output(e.qid, e.stream, e.text)) {
        log.open(e.qid, { title: e.qid, time: e.time });
        log.output(e.qid, e.stream, e.text);
      }
      return true;
    case 'rollback:start':
      log.open(`${e.qid}:rollback`, { title: `↶ rollback: ${e.name}`, command: e.command, time: e.time });
      return true;
    default:
      return false;
  }
}

/**
 * Serialises sections for logs that cannot nest or interleave them. The first section to open
 * is live (printed as its output comes); a section opened while another is live is buffered.
 * When the live one closes, lines queued meanwhile (other sections that ended, plain lines) are
 * printed, then the oldest buffered section still running goes live. Memory per section is
 * bounded by the limits; nothing is lost but the middle of very long outputs.
 */
export class SectionedLog {
  private live: Block | undefined;
  private readonly waiting = new Map<string, Block>();
  private queue: string[] = [];
  private seq = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly style: SectionStyle,
    private readonly limits = SECTION_LIMITS,
  ) {}

  has(key: string): boolean {
    return this.live?.section.key === key || this.waiting.has(key);
  }

  open(key: string, info: { title: string; command?: string; time: number }): void {
    if (this.has(key)) this.close(key, info.time, []);
    const section: Section = { key, title: info.title, command: info.command, startTime: info.time, seq: ++this.seq, nonce: randomBytes(16).toString('hex') };
    const b: Block = { section, live: false, headCount: 0, headBuf: [], tail: [], dropped: 0, splitter: new LineSplitter(this.limits.lineLength) };
    if (info.command !== undefined) {
      const lines = info.command.split('\n');
      lines.forEach((l, i) => this.addLine(b, `${i === 0 ? '$' : ' '} ${l}`));
    }
    if (this.live) this.waiting.set(key, b);
    else this.goLive(b);
  }

  /** Output for a section; false when no section has that key. */
  output(key: string, stream: string, text: string): boolean {
    const b = this.find(key);
    if (!b) return false;
    for (const line of b.splitter.push(text, stream)) this.addLine(b, line);
    return true;
  }

  /** A line of maint's own inside a section (a retry); false when no section has that key. */
  note(key: string, line: string): boolean {
    const b = this.find(key);
    if (!b) return false;
    for (const l of line.split('\n')) this.addLine(b, l);
    return true;
  }

  /** Close a section; `after` (result line, annotations) is printed right after it. */
  close(key: string, time: number, after: string[], outcome?: 'ok' | 'bad'): void {
    const b = this.find(key);
    if (!b) {
      this.say(after);
      return;
    }
    for (const line of b.splitter.flush()) this.addLine(b, line);
    const rest = [...(b.dropped > 0 ? [this.style.line(`… ${b.dropped} lines not shown here (the run journal has the full output)`)] : []), ...b.tail];
    if (b.live) {
      this.live = undefined;
      for (const l of rest) this.write(l);
      for (const l of this.style.close(b.section, time)) this.write(l);
      for (const l of after) this.write(l);
      const queued = this.queue;
      this.queue = [];
      for (const l of queued) this.write(l);
      const next = this.waiting.values().next();
      if (!next.done) {
        this.waiting.delete(next.value.section.key);
        this.goLive(next.value);
      }
    } else {
      this.waiting.delete(key);
      const block = [...this.style.open(b.section, outcome), ...b.headBuf, ...rest, ...this.style.close(b.section, time), ...after];
      this.say(block);
    }
  }

  /** Lines outside any section: now, or after the live section closes. */
  say(lines: string[]): void {
    if (this.live) this.queue.push(...lines);
    else for (const l of lines) this.write(l);
  }

  /** Close every section still open (the run ended, or maint is closing). */
  finish(time: number, note: string): void {
    for (const key of [...this.waiting.keys()]) {
      this.note(key, note);
      this.close(key, time, [], 'bad');
    }
    if (this.live) {
      const key = this.live.section.key;
      this.note(key, note);
      this.close(key, time, []);
    }
  }

  private find(key: string): Block | undefined {
    return this.live?.section.key === key ? this.live : this.waiting.get(key);
  }

  private goLive(b: Block): void {
    b.live = true;
    this.live = b;
    for (const l of this.style.open(b.section)) this.write(l);
    for (const l of b.headBuf) this.write(l);
    b.headBuf = [];
  }

  private addLine(b: Block, raw: string): void {
    const line = this.style.line(raw);
    if (b.headCount < this.limits.head) {
      b.headCount++;
      if (b.live) this.write(line);
      else b.headBuf.push(line);
      if (b.headCount === this.limits.head) {
        const notice = this.style.line(`… more output: its last ${this.limits.tail} lines follow when the step ends`);
        if (b.live) this.write(notice);
        else b.headBuf.push(notice);
      }
      return;
    }
    if (this.limits.tail <= 0) {
      b.dropped++;
      return;
    }
    b.tail.push(line);
    if (b.tail.length > this.limits.tail) {
      b.tail.shift();
      b.dropped++;
    }
  }
}

/**
 * Output chunks (split anywhere, stdout and stderr interleaved) into lines, per stream. A carriage
 * return starts the line over, as a terminal shows progress bars; a line is cut at `max`
 * characters, so an endless line costs bounded memory. No `\r` is left in a line.
 */
export class LineSplitter {
  private readonly open = new Map<string, { text: string; cut: boolean; cr: boolean }>();

  constructor(private readonly max: number) {}

  push(chunk: string, stream = 'stdout'): string[] {
    let p = this.open.get(stream);
    if (!p) this.open.set(stream, (p = { text: '', cut: false, cr: false }));
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', at);
      this.append(p, nl === -1 ? chunk.slice(at) : chunk.slice(at, nl));
      if (nl === -1) break;
      lines.push(p.text);
      p.text = '';
      p.cut = false;
      p.cr = false;
      at = nl + 1;
    }
    return lines;
  }

  /** The unfinished lines, once the output is over. */
  flush(): string[] {
    const lines = [...this.open.values()].map((p) => p.text).filter((t) => t !== '');
    this.open.clear();
    return lines;
  }

  private append(p: { text: string; cut: boolean; cr: boolean }, piece: string): void {
    if (piece === '') return;
    if (p.cr) {
      // A carriage return not followed by a newline: the line starts over.
      p.text = '';
      p.cut = false;
      p.cr = false;
    }
    if (piece.endsWith('\r')) {
      piece = piece.slice(0, -1);
      p.cr = true;
    }
    appendToLine(p, piece, this.max);
  }
}

/** maint's own text on one line: newlines shown as ` ↵ `, escape sequences and controls removed. */
export function oneLine(s: string): string {
  return stripVTControlCharacters(s)
    .replace(/\r\n|\r|\n/g, ' ↵ ')
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export const MARK: Record<StepStatus, string> = {
  passed: 'ok',
  warned: 'WARN',
  failed: 'FAIL',
  issue: 'ISSUE',
  skipped: 'skip',
  pending: 'TODO',
  interrupted: 'INTERRUPTED',
  paused: 'PAUSED',
};

export function isBad(status: StepStatus): boolean {
  return status === 'failed' || status === 'interrupted' || status === 'issue';
}

/** Rollbacks seen so far, for the result phrase. */
export interface RollbackTally {
  ran: number;
  failed: number;
}

/** The run's result as the maintenance log words it. */
export function resultPhrase(status: RunStatus, rollbacks: RollbackTally, pausedAt?: string): string {
  switch (status) {
    case 'passed':
      return 'passed';
    case 'failed':
      return rollbacks.ran > 0 && rollbacks.failed === 0 ? 'failed, rolled back' : 'failed';
    case 'rollback_failed':
      return 'failed, ROLLBACK FAILED';
    case 'paused':
      return pausedAt ? `paused at ${pausedAt}` : 'paused';
    case 'interrupted':
      return 'interrupted';
    default: {
      const never: never = status;
      return String(never);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GitHub workflow commands
