import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    // Synth plus `terraform init` per stack; the slowest file takes several seconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
