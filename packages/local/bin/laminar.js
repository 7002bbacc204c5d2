#!/usr/bin/env node
// Specs and the runner are TypeScript; tsx lets this CLI run them without a compile step.
// The import is dynamic so it runs after the loader is registered.
import { register } from 'tsx/esm/api';

register();
// The runner itself imports the AWS SDK; its Node 20 deprecation notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../src/cli.ts');
