import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleLayer, findPackageDir, moduleScripts } from '../../src/assemble.ts';

const root = mkdtempSync(join(tmpdir(), 'kafka-layer-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, text: string) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe('moduleScripts', () => {
  it('takes the main directory and what it requires from outside it, nothing else', () => {
    const pkg = join(root, 'pkg');
    write(join(pkg, 'lib/index.js'), "const n = require('../native');\nmodule.exports = require('./util');");
    write(join(pkg, 'lib/util.js'), "require('./data.json'); require('events');");
    write(join(pkg, 'lib/data.json'), '{}');
    write(join(pkg, 'lib/unused.js'), '');
    write(join(pkg, 'lib/index.d.ts'), '');
    write(join(pkg, 'native.js'), "module.exports = require('bindings')('x');");
    write(join(pkg, 'eslint.config.js'), '');
    write(join(pkg, 'util/dev-tool.js'), '');
    expect(moduleScripts(pkg, { name: 'pkg', version: '1.0.0', main: 'lib/index.js' })).toEqual([
      'lib/data.json',
      'lib/index.js',
      'lib/unused.js',
      'lib/util.js',
      'native.js',
    ]);
  });

  it('refuses to ship a package whose scripts require a file that is not there', () => {
    const pkg = join(root, 'broken');
    write(join(pkg, 'index.js'), "require('./gone');");
    expect(() => moduleScripts(pkg, { name: 'broken', version: '1.0.0' })).toThrow("broken: index.js requires './gone', which does not exist");
  });
});

describe('findPackageDir', () => {
  it("resolves through pnpm's symlinked layout to the copy Node would load", () => {
    const store = join(root, 'repo/node_modules/.pnpm');
    const a = join(store, 'a@1.0.0/node_modules/a');
    const b = join(store, 'b@2.0.0/node_modules/b');
    write(join(a, 'package.json'), '{"name":"a","version":"1.0.0"}');
    write(join(b, 'package.json'), '{"name":"b","version":"2.0.0"}');
    // pnpm links a's dependency b beside it, and the workspace package to a.
    symlinkSync(b, join(store, 'a@1.0.0/node_modules/b'));
    mkdirSync(join(root, 'repo/layers/x/node_modules'), { recursive: true });
    symlinkSync(a, join(root, 'repo/layers/x/node_modules/a'));
    const found = findPackageDir('a', join(root, 'repo/layers/x'));
    expect(found).toBe(a);
    expect(findPackageDir('b', found!)).toBe(b);
    expect(findPackageDir('b', join(root, 'repo/layers/x'))).toBeUndefined();
  });
});

describe('assembleLayer', () => {
  it('stops with the fix when the installed client has no compiled addon', () => {
    const fake = join(root, 'no-addon');
    write(join(fake, 'node_modules/@confluentinc/kafka-javascript/package.json'), JSON.stringify({ name: '@confluentinc/kafka-javascript', version: '1.10.1', main: 'lib/index.js', binary: {} }));
    write(join(fake, 'node_modules/@confluentinc/kafka-javascript/lib/index.js'), '');
    expect(() => assembleLayer(fake, ['@confluentinc/kafka-javascript'], 'x86_64')).toThrow(
      /@confluentinc\/kafka-javascript has no compiled addon \(no build\/Release\/\*\.node\) in .*no-addon[\s\S]*CKJS_LINKING=dynamic[\s\S]*prebuilt addon/,
    );
  });
});

describe('assembleLayer placing dependencies', () => {
  it('puts each dependency where Node, looking from its requirer, finds that version first', () => {
    // m needs x@1, p@2 and a; a needs x@3 and p@1; p@1 needs x@1 — which a's own x@3 would shadow.
    const tree = join(root, 'nested');
    const pkg = (dir: string, name: string, version: string, dependencies: Record<string, string> = {}) => {
      write(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js', dependencies }));
      write(join(dir, 'index.js'), '');
    };
    const m = join(tree, 'node_modules/m');
    pkg(m, 'm', '1.0.0', { x: '1', p: '2', a: '1' });
    pkg(join(m, 'node_modules/x'), 'x', '1.0.0');
    pkg(join(m, 'node_modules/p'), 'p', '2.0.0');
    const a = join(m, 'node_modules/a');
    pkg(a, 'a', '1.0.0', { x: '3', p: '1' });
    pkg(join(a, 'node_modules/x'), 'x', '3.0.0');
    pkg(join(a, 'node_modules/p'), 'p', '1.0.0', { x: '1' });
    pkg(join(a, 'node_modules/p/node_modules/x'), 'x', '1.0.0');
    const placed = assembleLayer(tree, ['m'], 'x86_64').packages.map((p) => `${p.path} ${p.name}@${p.version}`);
    expect(placed.sort()).toEqual([
      'nodejs/node_modules/a a@1.0.0',
      'nodejs/node_modules/a/node_modules/p p@1.0.0',
      'nodejs/node_modules/a/node_modules/p/node_modules/x x@1.0.0',
      'nodejs/node_modules/a/node_modules/x x@3.0.0',
      'nodejs/node_modules/m m@1.0.0',
      'nodejs/node_modules/p p@2.0.0',
      'nodejs/node_modules/x x@1.0.0',
    ]);
  });
});
