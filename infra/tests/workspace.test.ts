import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT as repoRoot } from './paths.ts';

describe('infra package', () => {
  it('depends on every function, so turbo builds their zips before synth', () => {
    const fnDir = join(repoRoot, 'functions');
    const functions = readdirSync(fnDir).filter((d) => existsSync(join(fnDir, d, 'spec.ts')));
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'infra', 'package.json'), 'utf8')) as {
      devDependencies?: Record<string, string>;
    };
    for (const name of functions) {
      const fnPkg = JSON.parse(readFileSync(join(fnDir, name, 'package.json'), 'utf8')) as { name: string };
      expect(pkg.devDependencies?.[fnPkg.name], `add "${fnPkg.name}": "workspace:*" to infra devDependencies`).toBe('workspace:*');
    }
    expect(functions.length).toBeGreaterThan(0);
  });
});
