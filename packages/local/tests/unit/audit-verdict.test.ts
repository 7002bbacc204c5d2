import { describe, expect, it } from 'vitest';
import type { AsyncOutcome } from '../../src/async.ts';
import { auditVerdict, notReadRowByRow, validationsDone } from '../../src/scenarios/bronze-silver.ts';

const KEY = 'bronze/orders.csv';
const DLQ = 'laminar-local-object-audit-dlq';

/** One delivery's outcome: its status, its last attempt's result, how many attempts it took. */
function outcome(status: AsyncOutcome['status'], result?: unknown, attempts = 1): AsyncOutcome {
  return {
    requestId: 'r',
    functionName: 'object-audit',
    event: {},
    status,
    attempts: Array.from({ length: attempts }, (_, i) => (i === attempts - 1 ? { result } : { error: { errorType: 'TimeoutError', errorMessage: 'x' } }) as AsyncOutcome['attempts'][number]),
    ...(status === 'failed' ? { destination: { queue: DLQ, messageId: 'm', condition: 'RetriesExhausted' as const } } : {}),
  };
}
const recorded = { recorded: 1, alreadyRecorded: 0 };
const alreadyRecorded = { recorded: 0, alreadyRecorded: 1 };
const item = { pk: `laminar-local-lake/${KEY}`, sk: '2026-11-30T10:00:00.000Z#0001' };

describe("the bronze-silver scenario's check of object-audit", () => {
  it('passes one recorded arrival, and a redelivery that finds it already recorded, in whichever order they finish', () => {
    expect(auditVerdict(KEY, [outcome('succeeded', recorded)], [item])).toEqual([]);
    expect(auditVerdict(KEY, [outcome('succeeded', alreadyRecorded), outcome('succeeded', recorded)], [item])).toEqual([]);
  });

  it('fails every delivery that did not succeed: an arrival in the DLQ is one the ledger misses', () => {
    expect(auditVerdict(KEY, [outcome('failed', undefined, 3)], [])).toEqual([
      `${KEY}: object-audit failed into ${DLQ}: every arrival must be recorded`,
      `${KEY}: the audit ledger holds 0 items for it this run, expected 1`,
    ]);
    expect(auditVerdict(KEY, [outcome('succeeded', recorded), outcome('failed', undefined, 3)], [item])).toEqual([
      `${KEY}: object-audit (delivery 2) failed into ${DLQ}: every arrival must be recorded`,
    ]);
    expect(auditVerdict(KEY, [], [])).toEqual([`${KEY}: no object-audit outcome: its arrival is not recorded`, `${KEY}: the audit ledger holds 0 items for it this run, expected 1`]);
  });

  it('fails a redelivery recorded as a new arrival, and an arrival no delivery recorded', () => {
    expect(auditVerdict(KEY, [outcome('succeeded', recorded), outcome('succeeded', recorded)], [item, { ...item, sk: 'other' }])).toEqual([
      `${KEY}: object-audit recorded it 2 times: a redelivery must find it already recorded`,
      `${KEY}: the audit ledger holds 2 items for it this run, expected 1`,
    ]);
    expect(auditVerdict(KEY, [outcome('succeeded', alreadyRecorded), outcome('succeeded', alreadyRecorded)], [item])).toEqual([
      `${KEY}: no delivery of object-audit recorded it (each found it already recorded)`,
    ]);
  });

  it('fails a result without the counts, or counts that are not one arrival', () => {
    expect(auditVerdict(KEY, [outcome('succeeded', { ok: true })], [item])).toEqual([`${KEY}: object-audit returned no recorded / alreadyRecorded counts`]);
    expect(auditVerdict(KEY, [outcome('succeeded', { recorded: 1, alreadyRecorded: 1 })], [item])).toEqual([
      `${KEY}: object-audit counted 1 recorded + 1 already recorded for one arrival`,
    ]);
  });

  it('takes a retry that finds its failed attempt\'s write as recorded, when the ledger holds the item', () => {
    // The first attempt's write went through before it failed: the retry finds the item there.
    expect(auditVerdict(KEY, [outcome('succeeded', alreadyRecorded, 2)], [item])).toEqual([]);
    expect(auditVerdict(KEY, [outcome('succeeded', alreadyRecorded, 2)], [])).toEqual([`${KEY}: the audit ledger holds 0 items for it this run, expected 1`]);
  });
});

describe("the bronze-silver scenario's count of the validator's work on duplicated deliveries", () => {
  const validated = (replayed?: boolean) => ({ objects: [{ status: 'validated', rowsRead: 2, valid: 2, rejected: 0, ...(replayed ? { replayed } : {}) }] });
  const skipped = { objects: [{ status: 'skipped', reason: 'source-missing' }] };

  it('counts one validation whichever delivery finished first: the one that replayed may be listed before the one that validated', () => {
    expect(validationsDone([outcome('succeeded', validated()), outcome('succeeded', validated(true))])).toBe(1);
    expect(validationsDone([outcome('succeeded', validated(true)), outcome('succeeded', validated())])).toBe(1);
  });

  it('counts a file validated twice, and leaves skips (never stored) and failures out', () => {
    expect(validationsDone([outcome('succeeded', validated()), outcome('succeeded', validated())])).toBe(2);
    expect(validationsDone([outcome('succeeded', skipped), outcome('succeeded', skipped), outcome('failed', undefined, 3)])).toBe(0);
  });
});

describe("the bronze-silver scenario's row total", () => {
  it('names the files it leaves out and why: skipped or quarantined whole, or failed with no result', () => {
    expect(notReadRowByRow(1, 1)).toBe(' (and 1 skipped or quarantined whole, 1 failed into the DLQ: not read row by row, rows not counted)');
    expect(notReadRowByRow(2, 0)).toBe(' (and 2 skipped or quarantined whole: not read row by row, rows not counted)');
    expect(notReadRowByRow(0, 0)).toBe('');
  });
});
