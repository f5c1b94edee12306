/**
 * Where in a shell command a `{{ }}` sits. {@link renderShell} inserts each
 * value as one single-quoted word; that is only safe where the shell parses
 * words. This small bash lexer over the template's literal text finds the
 * places where it is not.
 */
import type { Template, TemplateError } from './template.js';

type Place =
  | 'single' // '…'
  | 'double' // "…"
  | 'ansi' // $'…'
  | 'backtick' // `…`
  | 'comment' // # … (to end of line)
  | 'heredoc' // the body of <<EOF … EOF
  | 'delimiter' // <<{{ x }}
  | 'arith' // $(( … )) and (( … ))
  | 'dollar'; // ${{ x }}: the $ and the value's quote make $'…'

const HINTS: Record<Place, (src: string) => string> = {
  single: () => "is inside single quotes; maint quotes each value as one shell word — remove the quotes around it",
  double: () => 'is inside double quotes; maint quotes each value as one shell word — remove the quotes around it',
  ansi: () => "is inside $'…' quotes; maint quotes each value as one shell word — remove the quotes around it",
  backtick: () => 'is inside backticks; write $( … ) instead, where maint can quote it',
  comment: () =>
    'is inside a # comment, where quoting does not work (a newline in the value would end the comment); move it out of the comment',
  heredoc: (src) =>
    `is inside a heredoc body, where values cannot be quoted; set a variable before it (v={{ ${src} }}) and use $v in the body`,
  delimiter: () => 'is used as a heredoc delimiter; use a fixed word such as EOF',
  arith: () =>
    'is inside arithmetic (( … )), where a quoted value is not a number; compute it in the expression instead, e.g. {{ int(vars.n) + 1 }}',
  dollar: () => "follows a $, which would make its quotes $'…' and decode backslash escapes in the value; remove the $",
};

// Stands for an expression in the joined text: NUL cannot occur in a shell command.
const SLOT = '\u0000';

// Contexts where the shell parses words, so a quoted value is one word.
type WordFrame = { kind: 'top' | 'cmdsub' | 'subshell' | 'param' };
type Frame = WordFrame | { kind: 'single' | 'double' | 'ansi' | 'backtick' } | { kind: 'arith'; depth: number };

const BREAKS = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);

/**
 * Report each `{{ }}` of a shell template placed where quoting it cannot
 * make it one safe word: inside single, double or `$'…'` quotes, backticks,
 * a `#` comment, a heredoc body or delimiter, arithmetic, or right after a
 * `$`. Inside `$( … )` is fine: it starts a new parsing context.
 */
export function shellContextErrors(t: Template): TemplateError[] {
  const exprs: { source: string; offset: number }[] = [];
  let s = '';
  for (const seg of t.segments) {
    if (seg.kind === 'text') s += seg.text;
    else {
      s += SLOT;
      exprs.push(seg);
    }
  }
  return new ShellLexer(s, exprs).run();
}

class ShellLexer {
  private readonly errors: TemplateError[] = [];
  private readonly stack: Frame[] = [{ kind: 'top' }];
  private readonly heredocs: { delim: string; stripTabs: boolean }[] = [];
  private slot = 0; // index of the next expression
  private i = 0;
  private wordStart = true;

  constructor(
    private readonly s: string,
    private readonly exprs: readonly { source: string; offset: number }[],
  ) {}

  run(): TemplateError[] {
    while (this.i < this.s.length) {
      const frame = this.stack[this.stack.length - 1] ?? { kind: 'top' };
      if (this.s[this.i] === SLOT) {
        this.onSlot(isWordFrame(frame) ? null : frame.kind);
        this.i++;
        this.wordStart = false;
        continue;
      }
      switch (frame.kind) {
        case 'single':
          this.quoted("'", false);
          break;
        case 'ansi':
          this.quoted("'", true);
          break;
        case 'backtick':
          this.quoted('`', true);
          break;
        case 'double':
          this.double();
          break;
        case 'arith':
          this.arith(frame);
          break;
        default:
          this.words(frame);
      }
    }
    return this.errors;
  }

  // Every SLOT passes through here exactly once, keeping `slot` in step.
  private onSlot(place: Place | null): void {
    const expr = this.exprs[this.slot++];
    if (place && expr) {
      this.errors.push({ message: `{{ ${expr.source} }} ${HINTS[place](expr.source)}`, offset: expr.offset });
    }
  }

  private at(k = 0): string | undefined {
    return this.s[this.i + k];
  }

  // Skip a backslash and the character it escapes (never a SLOT: the loop reports those).
  private escape(): void {
    this.i += this.at(1) === SLOT ? 1 : 2;
  }

  private quoted(closer: string, backslashEscapes: boolean): void {
    const c = this.at();
    if (backslashEscapes && c === '\\') return this.escape();
    if (c === closer) this.stack.pop();
    this.i++;
  }

  private double(): void {
    const c = this.at();
    if (c === '\\') return this.escape();
    if (c === '"') this.stack.pop();
    else if (c === '`') this.stack.push({ kind: 'backtick' });
    else if (c === '$' && this.at(1) === '(') return this.openParen(1);
    this.i++;
  }

  private arith(frame: { depth: number }): void {
    const c = this.at();
    if (c === '$' && this.at(1) === '(') return this.openParen(1);
    if (c === '(') frame.depth++;
    else if (c === ')') {
      if (frame.depth > 0) frame.depth--;
      else {
        this.stack.pop();
        if (this.at(1) === ')') this.i++;
      }
    }
    this.i++;
  }

  // `$(`, `$((` or `((` at `i + skip`: command substitution or arithmetic.
  private openParen(skip: number): void {
    this.i += skip;
    if (this.at(1) === '(') {
      this.stack.push({ kind: 'arith', depth: 0 });
      this.i += 2;
    } else {
      this.stack.push({ kind: 'cmdsub' });
      this.i += 1;
    }
    this.wordStart = true;
  }

  // Unquoted text, where the shell splits words.
  private words(frame: WordFrame): void {
    const c = this.at() as string;
    if (c === '#' && this.wordStart && frame.kind !== 'param') return this.comment();
    if (c === '\\') {
      this.wordStart = false;
      return this.escape();
    }
    if (c === "'" || c === '"' || c === '`') {
      this.stack.push({ kind: c === "'" ? 'single' : c === '"' ? 'double' : 'backtick' });
    } else if (c === '$') {
      const next = this.at(1);
      if (next === SLOT) {
        this.i++;
        this.onSlot('dollar');
      } else if (next === '(') return this.openParen(1);
      else if (next === '{') {
        this.stack.push({ kind: 'param' });
        this.i++;
      } else if (next === "'" || next === '"') {
        this.stack.push({ kind: next === "'" ? 'ansi' : 'double' });
        this.i++;
      }
    } else if (c === '(') {
      if (this.wordStart && this.at(1) === '(') return this.openParen(0);
      this.stack.push({ kind: 'subshell' });
    } else if (c === ')' && (frame.kind === 'subshell' || frame.kind === 'cmdsub')) {
      this.stack.pop();
    } else if (c === '}' && frame.kind === 'param') {
      this.stack.pop();
    } else if (c === '<' && this.at(1) === '<' && frame.kind !== 'param') {
      if (this.at(2) === '<') this.i += 2; // here-string <<<: an ordinary word follows
      else return this.heredocOperator();
    } else if (c === '\n') {
      this.i++;
      this.wordStart = true;
      return this.heredocBodies();
    }
    this.wordStart = BREAKS.has(c);
    this.i++;
  }

  private comment(): void {
    while (this.i < this.s.length && this.at() !== '\n') {
      if (this.at() === SLOT) this.onSlot('comment');
      this.i++;
    }
  }

  // `<<WORD` or `<<-WORD`; quotes in WORD are removed (and make the body literal).
  private heredocOperator(): void {
    this.i += 2;
    const stripTabs = this.at() === '-';
    if (stripTabs) this.i++;
    while (this.at() === ' ' || this.at() === '\t') this.i++;
    let delim = '';
    while (this.i < this.s.length && !BREAKS.has(this.at() as string)) {
      const c = this.at() as string;
      if (c === SLOT) this.onSlot('delimiter');
      else if (c === "'" || c === '"') {
        for (this.i++; this.i < this.s.length && this.at() !== c; this.i++) {
          if (this.at() === SLOT) this.onSlot('delimiter');
          else delim += this.at();
        }
      } else if (c === '\\' && this.at(1) !== undefined && this.at(1) !== SLOT) {
        this.i++;
        delim += this.at();
      } else delim += c;
      this.i++;
    }
    if (delim) this.heredocs.push({ delim, stripTabs });
    this.wordStart = true;
  }

  // After the newline ending a line with `<<`: the bodies, in order.
  private heredocBodies(): void {
    for (const { delim, stripTabs } of this.heredocs.splice(0)) {
      while (this.i < this.s.length) {
        let end = this.s.indexOf('\n', this.i);
        if (end < 0) end = this.s.length;
        const line = this.s.slice(this.i, end);
        if ((stripTabs ? line.replace(/^\t+/, '') : line) === delim) {
          this.i = end + 1;
          break;
        }
        for (const ch of line) if (ch === SLOT) this.onSlot('heredoc');
        this.i = end + 1;
      }
    }
  }
}

function isWordFrame(frame: Frame): frame is WordFrame {
  return frame.kind === 'top' || frame.kind === 'cmdsub' || frame.kind === 'subshell' || frame.kind === 'param';
}
