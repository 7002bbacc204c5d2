import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';
import { INVENTORY_COLUMNS } from '../../src/columns.ts';
import { parseRunRequest } from '../../src/event.ts';
import { generateInventory, seedOf } from '../../src/generate.ts';
import { inventoryRecordSchema } from '../../src/schema.ts';

const at = new Date('2026-11-26T09:00:00Z');

describe('generateInventory', () => {
  it('is deterministic for a seed: the same records, byte for byte', () => {
    const a = [...generateInventory({ stores: 3, recordsPerStore: 4, seed: 42, at })];
    const b = [...generateInventory({ stores: 3, recordsPerStore: 4, seed: 42, at })];
    const c = [...generateInventory({ stores: 3, recordsPerStore: 4, seed: 43, at })];
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    expect(a[0]).toMatchInlineSnapshot(`
      {
        "category": "Automotive",
        "current_stock": 14,
        "min_stock": 11,
        "needs_restock": false,
        "product_id": "P00065",
        "product_name": "Tasty Silk Ball",
        "record_id": "afa8b708-f2b3-4817-bc5a-ce362fe8d891",
        "recorded_at": "2026-11-26T09:00:00.000Z",
        "store_city": "West Andreanemouth",
        "store_country": "US",
        "store_id": "S0001",
        "store_state": "AR",
        "unit_price": 188.88,
      }
    `);
  });

  it('seeds from all of a request id: request ids whose first 31 bits agree still get their own record ids', () => {
    // These two request ids share the first 31 bits of their SHA-256 (found by search): seeded
    // from those bits alone, their runs had the same 500 record_ids.
    const a = seedOf('6203c504-5a41-4d61-9ad2-23324e1637b1');
    const b = seedOf('52c8a48e-b366-4a27-b76f-0ba53752f7b6');
    expect(a).toHaveLength(8);
    const ids = (seed: number[]) => new Set([...generateInventory({ stores: 10, recordsPerStore: 50, seed, at })].map((r) => r.record_id));
    const shared = [...ids(a)].filter((id) => ids(b).has(id));
    expect(shared).toEqual([]);
    expect([...generateInventory({ stores: 2, recordsPerStore: 3, seed: a, at })]).toEqual([...generateInventory({ stores: 2, recordsPerStore: 3, seed: [...a], at })]);
  });

  it('starts every store at `at`, so a large run stays within minutes of it', () => {
    const records = [...generateInventory({ stores: 100, recordsPerStore: 100, seed: 3, at })];
    const latest = Math.max(...records.map((r) => Date.parse(r.recorded_at)));
    expect(latest - at.getTime()).toBeLessThanOrEqual(99 * 5_000);
    expect(records.filter((r) => r.recorded_at === at.toISOString())).toHaveLength(100);
  });

  it('gives N stores × M records, every one matching the Glue columns, with a consistent restock flag', () => {
    const records = [...generateInventory({ stores: 7, recordsPerStore: 30, seed: 1, at })];
    expect(records).toHaveLength(210);
    expect(new Set(records.map((r) => r.store_id)).size).toBe(7);
    expect(new Set(records.map((r) => r.record_id)).size).toBe(210);
    for (const r of records) {
      expect(inventoryRecordSchema.safeParse(r).success).toBe(true);
      expect(Object.keys(r).sort()).toEqual(INVENTORY_COLUMNS.map((c) => c.name).sort());
      expect(r.needs_restock).toBe(r.current_stock < r.min_stock);
    }
    const share = records.filter((r) => r.needs_restock).length / records.length;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.5);
    // Each store's observations move forward in time.
    for (const store of new Set(records.map((r) => r.store_id))) {
      const times = records.filter((r) => r.store_id === store).map((r) => r.recorded_at);
      expect([...times].sort()).toEqual(times);
    }
  });

  it('declares its columns once: the spec gives infra the same list', () => {
    expect(spec.deliveryStreams[0]?.table?.columns).toEqual(INVENTORY_COLUMNS);
  });
});

describe('the run request', () => {
  it('takes defaults for a manual run or a bare scheduled event, and the schedule’s constant input', () => {
    expect(parseRunRequest({}, 1000)).toEqual({ stores: 5, recordsPerStore: 20 });
    expect(parseRunRequest({ 'detail-type': 'Scheduled Event', source: 'aws.events', id: 'x', time: 't' }, 1000)).toEqual({ stores: 5, recordsPerStore: 20, runId: 'x' });
    expect(parseRunRequest({ stores: 2, recordsPerStore: 3, seed: 9 }, 1000)).toEqual({ stores: 2, recordsPerStore: 3, seed: 9 });
  });

  it('refuses out-of-bounds sizes and unknown fields, naming them', () => {
    expect(() => parseRunRequest({ stores: 0 }, 1000)).toThrow(/stores/);
    expect(() => parseRunRequest({ stores: 10, recordsPerStore: 200 }, 1000)).toThrow(/above MAX_RECORDS/);
    expect(() => parseRunRequest({ store: 3 }, 1000)).toThrow(/store/);
  });
});
