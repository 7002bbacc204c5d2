import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';
import { INVENTORY_COLUMNS } from '../../src/columns.ts';
import { parseRunRequest } from '../../src/event.ts';
import { generateInventory } from '../../src/generate.ts';
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
    const times = records.map((r) => r.recorded_at);
    expect([...times].sort()).toEqual(times);
  });

  it('declares its columns once: the spec gives infra the same list', () => {
    expect(spec.deliveryStreams[0]?.table?.columns).toEqual(INVENTORY_COLUMNS);
  });
});

describe('the run request', () => {
  it('takes defaults for a manual run or a bare scheduled event, and the schedule’s constant input', () => {
    expect(parseRunRequest({}, 1000)).toEqual({ stores: 5, recordsPerStore: 20 });
    expect(parseRunRequest({ 'detail-type': 'Scheduled Event', source: 'aws.events', id: 'x', time: 't' }, 1000)).toEqual({ stores: 5, recordsPerStore: 20 });
    expect(parseRunRequest({ stores: 2, recordsPerStore: 3, seed: 9 }, 1000)).toEqual({ stores: 2, recordsPerStore: 3, seed: 9 });
  });

  it('refuses out-of-bounds sizes and unknown fields, naming them', () => {
    expect(() => parseRunRequest({ stores: 0 }, 1000)).toThrow(/stores/);
    expect(() => parseRunRequest({ stores: 10, recordsPerStore: 200 }, 1000)).toThrow(/above MAX_RECORDS/);
    expect(() => parseRunRequest({ store: 3 }, 1000)).toThrow(/store/);
  });
});
