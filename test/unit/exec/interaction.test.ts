import { describe, expect, it } from 'vitest';
import { operator, parseConfirmAnswer } from '../../../src/cli/interaction.js';

describe('a confirm answer', () => {
  it.each([
    ['y', 'yes'], ['YES', 'yes'], [' yes ', 'yes'],
    ['p', 'pause'], ['Pause', 'pause'],
    ['n', 'no'], ['no', 'no'], ['', 'no'], ['yep', 'no'], ['later', 'no'],
  ] as const)('%j is %s', (text, answer) => expect(parseConfirmAnswer(text)).toBe(answer));
});

it('the operator is user@host', () => {
  expect(operator()).toMatch(/^[^@\s]+@[^@\s]+$/);
});
