import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/args.ts';
import { type Io, runCommand } from '../../src/commands.ts';
import { probeRoot } from './root-fixture.ts';

let root: Awaited<ReturnType<typeof probeRoot>>;

beforeAll(async () => {
  root = await probeRoot();
  // Only built functions: a runner that could start shows what an unchecked port would cost.
  rmSync(join(root.dir, 'functions', 'unbuilt'), { recursive: true });
});
afterAll(() => root.remove());

describe('laminar dev and its console', () => {
  it('refuses a bad LAMINAR_CONSOLE_PORT before it wipes the previous run\'s S3 and DLQs', async () => {
    const queues = join(root.dir, '.laminar', 'queues');
    mkdirSync(queues, { recursive: true });
    const dlq = join(queues, 'laminar-local-probe-dlq.jsonl');
    const message = { sent: { messageId: 'm-1', sentAt: '2026-11-27T00:00:00.000Z', body: { requestPayload: { hello: 'world' } }, attributes: {} } };
    writeFileSync(dlq, `${JSON.stringify(message)}\n`);
    const object = join(root.dir, '.laminar', 's3', 'kept.txt');
    mkdirSync(join(object, '..'), { recursive: true });
    writeFileSync(object, 'from the previous run');
    const stdout = new PassThrough();
    const io: Io = {
      stdout,
      stderr: new PassThrough(),
      cwd: root.dir,
      env: { LAMINAR_CONSOLE_PORT: 'abc' },
      interrupted: new Promise<void>(() => {}),
      onInterrupt: () => {},
      readStdin: async () => '',
    };
    const run = runCommand(parseCli(['dev', '--keep']), io);
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow('LAMINAR_CONSOLE_PORT="abc" is not a port number');
    // Refused with the other flag checks: nothing of the previous run is gone, and nothing started.
    expect(readFileSync(dlq, 'utf8')).toBe(`${JSON.stringify(message)}\n`);
    expect(existsSync(object)).toBe(true);
    expect(String(stdout.read() ?? '')).toBe('');

    // A chosen port another process holds: refused before anything is wiped as well.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const taken = (holder.address() as AddressInfo).port;
    try {
      const held = runCommand(parseCli(['dev', '--keep', '--console-port', String(taken)]), { ...io, env: {} });
      await expect(held).rejects.toThrow(`the console's port ${taken} is taken`);
      expect(readFileSync(dlq, 'utf8')).toBe(`${JSON.stringify(message)}\n`);
      expect(existsSync(object)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
