import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// Each file runs the whole pipeline (every function, the emulators): one at a time, so that two
// runners do not share the machine's cores (and its default ports).
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
