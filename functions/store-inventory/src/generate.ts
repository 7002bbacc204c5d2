import { Faker, en } from '@faker-js/faker';
import type { InventoryRecord } from './columns.ts';

export interface GenerateOptions {
  stores: number;
  recordsPerStore: number;
  /** Same seed (and `at`) → the same records, byte for byte. */
  seed: number;
  /** The observation time of the first record; later ones follow a few seconds apart. */
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
  const faker = new Faker({ locale: [en], seed: options.seed });
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
  let t = options.at.getTime();
  for (const store of stores) {
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
