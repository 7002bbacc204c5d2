// Sums every package's vitest JSON report into the one closing line CI reads. Counted as failed
// besides failed tests: a test file that failed without a failed test (an import that throws, a
// beforeAll that does: its tests are reported skipped), a package whose run left no report, and
// each check `./run test` names in LAMINAR_FAILED_CHECKS (lint, typecheck: space-separated).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const group of ['packages', 'functions', 'layers']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) rows.push(join(group, name));
}
rows.push('infra');
const missing = [];
for (const pkg of rows.sort()) {
  const manifest = join(root, pkg, 'package.json');
  if (!existsSync(manifest) || !JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test) continue;
  const report = join(root, pkg, 'test-results.json');
  if (!existsSync(report)) {
    missing.push(pkg);
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  // A run that says it failed with nothing above to show for it still failed.
  const unexplained = r.success === false && r.numFailedTests === 0 && brokenFiles.length === 0 ? 1 : 0;
  passed += r.numPassedTests;
  const packageFailed = r.numFailedTests + brokenFiles.length + unexplained;
  failed += packageFailed;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  const notes = [
    ...brokenFiles.map((f) => `${relative(join(root, pkg), f.name)} failed to run${f.message ? `: ${String(f.message).split('\n')[0]}` : ''}`),
    ...(unexplained ? ['the run failed'] : []),
  ];
  console.log(`${pkg.padEnd(32)} ${r.numPassedTests} passed, ${packageFailed} failed${r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''}${notes.length ? ` (${notes.join('; ')})` : ''}`);
}
for (const pkg of missing) console.log(`${pkg.padEnd(32)} no test report (its test run did not finish)`);
const checks = (process.env.LAMINAR_FAILED_CHECKS ?? '').split(/\s+/).filter(Boolean);
for (const check of checks) console.log(`${check.padEnd(32)} failed`);
const failures = failed + missing.length + checks.length;
console.log(`${passed} passed, ${failures} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failures > 0 ? 1 : 0);
