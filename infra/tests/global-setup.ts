import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_TMP } from './paths.ts';

/**
 * cdktf's Testing helpers leave `cdktf.outdir.*` folders in the OS temp dir, and terraform writes
 * its own scratch files there: point TMPDIR into the test folder so one rm cleans up everything.
 */
export default function setup(): () => void {
  rmSync(TEST_TMP, { recursive: true, force: true });
  const tmp = join(TEST_TMP, 'os-tmp');
  mkdirSync(tmp, { recursive: true });
  process.env.TMPDIR = tmp;
  process.env.CHECKPOINT_DISABLE = '1';
  return () => {
    if (!process.env.LAMINAR_KEEP_TEST_TMP) rmSync(TEST_TMP, { recursive: true, force: true });
  };
}
