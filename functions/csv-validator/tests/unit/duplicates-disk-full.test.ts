import { describe, expect, it, vi } from 'vitest';

// /tmp filling up cannot be arranged portably: the disk is stood in for by a writeSync that fails
// as Linux does once its spill files pass a few hundred KB.
const written = { bytes: 0 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (fd: number, data: Buffer, offset = 0) => {
      if (written.bytes > 300_000) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
      const n = fs.writeSync(fd, data, offset);
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
});
