import { describe, expect, it } from 'vitest';
import { defineFunction, FUNCTIONS_BEGIN, FUNCTIONS_END, functionsTable, withFunctionsTable } from '../../src/index.ts';

const spec = defineFunction({
  name: 'archiver',
  description: 'Archives | things',
  memoryMb: 512,
  timeoutS: 60,
  env: { LAKE: { ref: { bucket: 'lake' } } },
  triggers: [
    { kind: 'kafka', topics: ['items'], cluster: { kind: 'self-managed', auth: 'BASIC_AUTH', secret: 'creds' }, batchSize: 10 },
    { kind: 'schedule', expression: 'rate(1 hour)' },
  ],
  permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'bronze/*' } }],
});

describe('functionsTable', () => {
  it('describes triggers, limits, outputs and failures from the spec, escaping table cells', () => {
    const table = functionsTable([spec]);
    expect(table.startsWith(FUNCTIONS_BEGIN) && table.endsWith(FUNCTIONS_END)).toBe(true);
    expect(table).toContain('| `archiver` | Archives \\| things | Kafka mapping on `items` (self-managed, BASIC_AUTH; batch ≤ 10, window 0 s, TRIM_HORIZON, on demand)<br>schedule `rate(1 hour)` | 512 MB, 60 s, arm64 | s3 `lake/bronze/*` | failed batches → DLQ (coordinates) |');
  });

  it('shows /tmp among the limits only when it is not the free 512 MB', () => {
    const big = defineFunction({ name: 'validator', memoryMb: 1769, timeoutS: 900, ephemeralStorageMb: 10240, triggers: [{ kind: 'invoke' }] });
    expect(functionsTable([big])).toContain('| 1769 MB, 900 s, arm64, /tmp 10240 MB |');
    expect(functionsTable([{ ...big, layers: ['kafka'] }])).toContain('| 1769 MB, 900 s, arm64, /tmp 10240 MB, layers kafka |');
    expect(functionsTable([{ ...big, ephemeralStorageMb: 512 }])).toContain('| 1769 MB, 900 s, arm64 |');
  });

  it('replaces only the marked section, and refuses a document without one', () => {
    const doc = `# Title\n\n${FUNCTIONS_BEGIN}\nold\n${FUNCTIONS_END}\n\nrest\n`;
    const next = withFunctionsTable(doc, [spec]);
    expect(next.startsWith('# Title\n\n')).toBe(true);
    expect(next.endsWith('\n\nrest\n')).toBe(true);
    expect(next).not.toContain('\nold\n');
    expect(withFunctionsTable(next, [spec])).toBe(next);
    expect(() => withFunctionsTable('# nothing', [spec])).toThrow(/no "<!-- functions:begin/);
  });
});
