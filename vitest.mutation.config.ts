import { defineConfig } from 'vitest/config';

// Mutation testing runs the in-process tests only: the core is reached through its seams
// (buildPlan, execute with a scripted Runner, Masker), not through the built binary, which
// Stryker's mutants would never reach.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/stack/**'],
    testTimeout: 30_000,
  },
});
