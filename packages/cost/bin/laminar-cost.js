#!/usr/bin/env node
// Specs are TypeScript; tsx lets this CLI load them (and itself) without a compile step.
// The import is dynamic so it runs after the loader is registered.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
