import { describe, expect, it, vi } from 'vitest';

// /tmp filling up cannot be arranged portably: the disk is stood in for by a writeSync that fails
// as Linux does once its spill files pass a few hundred KB.
const written = { bytes: 0, limit: 300_000 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      if (written.bytes > written.limit) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
      const n = (fs.writeSync as (...a: unknown[]) => number)(...args);
      written.bytes += n;
      return n;
    },
  };
});

const { DuplicateDetector } = await import('../../src/duplicates.ts');

describe('DuplicateDetector on a full disk', () => {
  it('says which setting to raise, with the system error as its cause', () => {
    const detector = new DuplicateDetector({ expectedRows: 100_000 });
    try {
      let failure: unknown;
      try {
        for (let i = 0; i < 100_000; i++) detector.add(`ORD-${String(i).padStart(10, '0')}`, i + 2);
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/no space left in .*csv-validator-.* for its spill files — give the function more ephemeral storage \(ephemeralStorageMb, up to 10240\)/);
      expect((failure as Error).cause).toMatchObject({ code: 'ENOSPC' });
    } finally {
      detector.close();
    }
  });

  it('closes and deletes every partition file when the disk fills while settling', async () => {
    const { readdirSync, readlinkSync } = await import('node:fs');
    written.bytes = 0;
    written.limit = Number.POSITIVE_INFINITY;
    // A filter far too small and a 64 KiB budget: settling partitions on disk.
    const detector = new DuplicateDetector({ expectedRows: 1, settleBudgetBytes: 64 * 1024 });
    for (let i = 0; i < 100_000; i++) {
      const id = `ORD-${String(i % 50_000).padStart(10, '0')}`;
      if (detector.add(id, i + 2)) detector.defer({ line: i + 2, id, raw: [id], silver: null, reasons: [] });
    }
    written.limit = written.bytes + 2_000_000;
    expect(() => [...detector.resolve()]).toThrow(/no space left in .* — give the function more ephemeral storage/);
    detector.close();
    const open = readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((target) => target.includes('csv-validator-'));
    expect(open).toEqual([]);
    written.limit = 300_000;
  });
});
