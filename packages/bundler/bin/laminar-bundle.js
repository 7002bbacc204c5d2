#!/usr/bin/env node
// Specs and the bundler are TypeScript; tsx lets this CLI read them without a compile step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
