import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './pids.ts';

/** Entries walked per measurement at most: a folder of millions of files is not measured to the byte. */
const MAX_ENTRIES = 100_000;

/**
 * An execution environment's own /tmp. On Lambda each environment has a /tmp of the function's
 * ephemeral storage size, kept across its warm invocations and gone with it; locally the
 * environment gets a folder of its own (its TMPDIR, which os.tmpdir() reads), measured while it
 * runs. Nothing here can make a write fail as Lambda's full /tmp does (that would take a
 * filesystem quota), so passing the size is reported instead.
 *
 * Folders are named `<function>-<runner pid>-<random>`, so a runner can remove the ones a
 * runner that died left behind without touching those of runners still alive (pruneOrphans).
 */
export class EphemeralStorage {
  readonly path: string;
  readonly limitBytes: number;
  /** The most the folder held at a measurement. */
  peakBytes = 0;
  #reported = false;

  constructor(root: string, functionName: string, limitMb: number) {
    mkdirSync(root, { recursive: true });
    this.path = mkdtempSync(join(root, `${functionName}-${process.pid}-`));
    this.limitBytes = limitMb * 1024 * 1024;
  }

  /** Bytes the folder holds: allocated blocks, as a filesystem counts them against its size. */
  usedBytes(): number {
    let total = 0;
    let entries = 0;
    const pending = [this.path];
    while (pending.length > 0 && entries < MAX_ENTRIES) {
      const dir = pending.pop() as string;
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue; // Removed while we walked.
      }
      for (const name of names) {
        if (++entries > MAX_ENTRIES) break;
        const path = join(dir, name);
        try {
          const stat = lstatSync(path);
          total += stat.blocks * 512;
          if (stat.isDirectory()) pending.push(path);
        } catch {
          // Removed while we walked.
        }
      }
    }
    return total;
  }

  /** Measures; true the first time the folder holds more than the limit (report it once). */
  sample(): boolean {
    const used = this.usedBytes();
    if (used > this.peakBytes) this.peakBytes = used;
    if (used <= this.limitBytes || this.#reported) return false;
    this.#reported = true;
    return true;
  }

  /** Best effort: a process the function started may still be writing there; pruneOrphans retries. */
  remove(): void {
    try {
      rmSync(this.path, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Left for the next runner's pruneOrphans.
    }
  }
}

/** Removes the folders of runners that are no longer alive. */
export function pruneOrphans(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/-(\d+)-[^-]+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Still in use by a leftover process: tried again next time.
    }
  }
}
