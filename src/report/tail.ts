/**
 * The last lines of a step's output, for showing while it runs: a bounded ring, never the
 * whole output. Chunks arrive as the process wrote them (split anywhere, stdout and stderr
 * interleaved), so each stream keeps its own unfinished line until its newline arrives.
 */
import { stripVTControlCharacters } from 'node:util';

/** A line longer than this is cut: a tail is for glancing at, not for reading a minified file. */
export const MAX_LINE_LENGTH = 1000;

/** A line still being written: its text so far, and whether it was already cut at the bound. */
export interface OpenLine {
  text: string;
  cut: boolean;
}

/**
 * Add a piece of output (no newline in it) to an open line, as a terminal would show it: a
 * carriage return starts the line over (progress bars), and past `max` characters it is cut.
 */
export function appendToLine(p: OpenLine, piece: string, max: number): void {
  const cr = piece.lastIndexOf('\r');
  if (cr >= 0) {
    p.text = '';
    p.cut = false;
    piece = piece.slice(cr + 1);
  }
  if (p.cut || piece === '') return;
  const room = max - p.text.length;
  if (piece.length > room) {
    p.text += piece.slice(0, Math.max(0, room)) + '…';
    p.cut = true;
  } else p.text += piece;
}

export class LineTail {
  private ring: string[] = [];
  private readonly partial = new Map<string, OpenLine>();
  /** Complete lines pushed out of the ring. */
  dropped = 0;

  constructor(
    readonly capacity: number,
    private readonly maxLineLength = MAX_LINE_LENGTH,
  ) {}

  /**
   * Add a chunk of output. Escape sequences and control characters are removed. Only the
   * piece that finishes the open line and the last `capacity` lines of a chunk are looked at,
   * so a step printing gigabytes costs index scans, not copies.
   */
  push(chunk: string, stream = 'stdout'): void {
    let p = this.partial.get(stream);
    if (!p) this.partial.set(stream, (p = { text: '', cut: false }));
    const first = chunk.indexOf('\n');
    if (first === -1) {
      this.append(p, this.prep(chunk));
      return;
    }
    this.append(p, this.prep(chunk.slice(0, first)));
    this.close(p);
    const last = chunk.lastIndexOf('\n');
    // Complete lines between the first and last newline: keep the last `capacity` of them.
    const kept: string[] = [];
    let cursor = last;
    while (cursor > first && kept.length < this.capacity) {
      const prev = chunk.lastIndexOf('\n', cursor - 1);
      kept.unshift(chunk.slice(prev + 1, cursor));
      cursor = prev;
    }
    for (let i = chunk.indexOf('\n', first + 1); i !== -1 && i <= cursor && cursor > first; i = chunk.indexOf('\n', i + 1)) {
      this.dropped++;
    }
    for (const line of kept) {
      this.append(p, this.prep(line));
      this.close(p);
    }
    this.append(p, this.prep(chunk.slice(last + 1)));
  }

  /** Bound a raw piece before cleaning it: only what can be shown survives. */
  private prep(piece: string): string {
    if (piece.endsWith('\r')) piece = piece.slice(0, -1);
    const cr = piece.lastIndexOf('\r');
    if (cr > 0) piece = piece.slice(cr);
    if (piece.length > this.maxLineLength * 2) piece = piece.slice(0, this.maxLineLength * 2);
    return clean(piece);
  }

  private close(p: OpenLine): void {
    this.add(p.text);
    p.text = '';
    p.cut = false;
  }

  /** The last `n` lines, the unfinished ones (which may still grow) last. */
  last(n: number): string[] {
    if (n <= 0) return [];
    const open = [...this.partial.values()].map((p) => p.text).filter((t) => t !== '');
    return [...this.ring, ...open].slice(-n);
  }

  /** Every line still kept, and how many earlier ones were dropped. */
  all(): { lines: string[]; dropped: number } {
    return { lines: this.last(this.capacity), dropped: this.dropped };
  }

  clear(): void {
    this.ring = [];
    this.partial.clear();
    this.dropped = 0;
  }

  private append(p: OpenLine, piece: string): void {
    appendToLine(p, piece, this.maxLineLength);
  }

  private add(line: string): void {
    if (this.capacity <= 0) {
      this.dropped++;
      return;
    }
    this.ring.push(line);
    if (this.ring.length > this.capacity) {
      this.ring.shift();
      this.dropped++;
    }
  }
}

function clean(chunk: string): string {
  return stripVTControlCharacters(chunk)
    .replace(/\t/g, '  ')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
}
