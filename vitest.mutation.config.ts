import { defineConfig } from 'vitest/config';

// Mutation testing runs the in-process tests only: the core is reached through its seams
// (buildPlan, execute with a scripted Runner, Masker), not through the built binary, which
// Stryker's mutants would never reach.
//
// Left out as well: tests that time real sockets and real processes (notify's monitors and
// webhooks, the spawn runner). They reach no mutated line that the in-process tests do not, and
// one of them missing a wall-clock bound on a loaded machine fails Stryker's initial run, and with
// it the whole `npm run mutation`.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/stack/**', 'test/unit/notify/**', 'test/unit/exec/runner.test.ts'],
    testTimeout: 30_000,
  },
});
