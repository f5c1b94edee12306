/** A schedule or window whose cron parses but never fires is refused at validate. */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../../../src/runbook/parse.js';

const problems = (head: string) =>
  parseRunbook('r.yaml', `${head}\nsteps:\n  - { name: a, run: echo }\n`).diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`);

describe('cron expressions that never fire', () => {
  it.each([
    ['window: { cron: "0 0 31 2 *", duration: 1h }', ['1:17 window.cron: never fires: no date matches this cron expression (e.g. 31 February)']],
    ['schedule: "0 0 31 4,6,9,11 *"', ['1:11 schedule: never fires: no date matches this cron expression (e.g. 31 February)']],
    ['schedule: "0 0 29 2 *"', []], // a leap day comes
    ['window: { cron: "0 9 * * 1#1", duration: 4h }', []],
  ])('%s', (head, expected) => expect(problems(head)).toEqual(expected));
});
