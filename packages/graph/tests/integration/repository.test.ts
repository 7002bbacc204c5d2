import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRoot, loadAllSpecs } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { OUTPUTS, renderRepository } from '../../src/generate.ts';

const root = findRoot(import.meta.dirname);
const run = promisify(execFile);

describe('the repository’s architecture graph', () => {
  it('the committed docs/architecture.svg and .dot are what the current specs render (else run `pnpm graph`)', async () => {
    const rendered = await renderRepository(root);
    // Compare the DOT first: its diff names what changed, the SVG's is coordinates.
    expect(readFileSync(join(root, OUTPUTS.dot), 'utf8'), `${OUTPUTS.dot} is stale: run \`pnpm graph\``).toBe(rendered.dot);
    expect(readFileSync(join(root, OUTPUTS.svg), 'utf8') === rendered.svg, `${OUTPUTS.svg} is stale: run \`pnpm graph\``).toBe(true);
  });

  it('shows every function of functions/ with its limits', async () => {
    const [{ graph }, loaded] = await Promise.all([renderRepository(root), loadAllSpecs(root)]);
    expect(loaded.length).toBeGreaterThan(0);
    for (const { spec } of loaded) {
      const node = graph.nodes.find((n) => n.id === `fn-${spec.name}`);
      const tmp = spec.ephemeralStorageMb === 512 ? '' : ` · /tmp ${spec.ephemeralStorageMb.toLocaleString('en-US')} MB`;
      expect(node?.label[1]).toBe(`${spec.memoryMb.toLocaleString('en-US')} MB · ${spec.timeoutS} s · ${spec.architecture}${tmp}`);
      // Every function is started by something.
      expect(graph.edges.some((e) => e.to === node?.id && e.kind === 'triggers')).toBe(true);
    }
  });

  it('the CLI checks the committed files and prints the model', async () => {
    const bin = join(import.meta.dirname, '../../bin/laminar-graph.js');
    const check = await run(process.execPath, [bin, '--check'], { cwd: root });
    expect(check.stdout).toMatch(/is up to date/);
    const json = await run(process.execPath, [bin, '--print', 'json'], { cwd: root });
    expect(JSON.parse(json.stdout).nodes.length).toBeGreaterThan(0);
  });
});
