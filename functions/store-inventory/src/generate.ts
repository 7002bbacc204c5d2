import { createHash } from 'node:crypto';
import { Faker, en } from '@faker-js/faker';
import type { InventoryRecord } from './columns.ts';

export interface GenerateOptions {
  stores: number;
  recordsPerStore: number;
  /** Same seed (and `at`) → the same records, byte for byte. A number, or 32-bit words. */
  seed: number | readonly number[];
  /** The observation time of each store's first record; its later ones follow a few seconds apart. */
  at: Date;
}

interface Store {
  id: string;
  city: string;
  state: string;
  country: string;
}

interface Product {
  id: string;
  name: string;
  category: string;
  price: number;
  /** Threshold under which the store should restock. */
  minStock: number;
}

/** A store chain's catalog: more products than a store reports on in one run. */
const CATALOG_SIZE = 200;

/**
 * Simulated store inventory: N stores, each reporting stock levels of products from one shared
 * catalog. Faker (seeded) supplies realistic names and places; an instance per call, so concurrent
 * or repeated calls never share its random state.
 */
export function* generateInventory(options: GenerateOptions): Generator<InventoryRecord> {
  const faker = new Faker({ locale: [en] });
  if (typeof options.seed === 'number') faker.seed(options.seed);
  else faker.seed([...options.seed]);
  const catalog: Product[] = Array.from({ length: CATALOG_SIZE }, (_, i) => ({
    id: `P${String(i + 1).padStart(5, '0')}`,
    name: faker.commerce.productName(),
    category: faker.commerce.department(),
    price: Number(faker.commerce.price({ min: 1, max: 500, dec: 2 })),
    minStock: faker.number.int({ min: 5, max: 50 }),
  }));
  const stores: Store[] = Array.from({ length: options.stores }, (_, i) => ({
    id: `S${String(i + 1).padStart(4, '0')}`,
    city: faker.location.city(),
    state: faker.location.state({ abbreviated: true }),
    country: 'US',
  }));
  for (const store of stores) {
    // Each store reports from `at` on, as stores report side by side: one clock running through
    // every store put the last observations days after `at` (83 h at 1,000 × 100), far from when
    // the run happened. (Firehose files records under the hour they arrive in, not their
    // `recorded_at`: a partition's rows can be observations from another hour.)
    let t = options.at.getTime();
    for (let r = 0; r < options.recordsPerStore; r++) {
      const product = faker.helpers.arrayElement(catalog);
      // Stock hovers around the threshold so a realistic share of records needs a restock.
      const stock = faker.number.int({ min: 0, max: product.minStock * 4 });
      yield {
        record_id: faker.string.uuid(),
        store_id: store.id,
        store_city: store.city,
        store_state: store.state,
        store_country: store.country,
        product_id: product.id,
        product_name: product.name,
        category: product.category,
        unit_price: product.price,
        current_stock: stock,
        min_stock: product.minStock,
        needs_restock: stock < product.minStock,
        recorded_at: new Date(t).toISOString(),
      };
      t += faker.number.int({ min: 1, max: 5 }) * 1000;
    }
  }
}

/**
 * A seed from the request id: all 256 bits of its SHA-256, as Faker's eight 32-bit words. With 31
 * bits, two runs of the hourly schedule shared a seed — and so 500 record_ids — within a few years
 * (birthday odds ~2 % a year), and downstream deduplication on record_id dropped a real run.
 */
export function seedOf(requestId: string): number[] {
  const digest = createHash('sha256').update(requestId).digest();
  return Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4));
}
