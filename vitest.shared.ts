import { defineConfig } from 'vitest/config';

/**
 * Settings every package's tests share. Timeouts are generous because turbo runs the packages'
 * integration suites side by side on a 2-core CI machine, each starting real servers.
 */
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll() gives up after 1 s by default: too short for a function's cold start, an X-Ray
    // span or a browser's event stream when the machine is busy. It still returns at the first match.
    expect: { poll: { timeout: 20_000 } },
    // The AWS SDK's Node 20 deprecation notice is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
