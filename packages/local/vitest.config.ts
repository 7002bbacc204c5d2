import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration tests start real processes (environments, the embedded S3).
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The runner and the tests import the AWS SDK, whose Node 20 deprecation notice is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
