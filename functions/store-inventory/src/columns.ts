import type { GlueColumn } from '@laminar/spec';

/**
 * The inventory record, declared once: the generator's output type and zod schema are derived from
 * it, and the spec hands the same list to infra as the Glue table's columns. Timestamps are ISO
 * 8601 strings in the JSON, which the table's JSON SerDe reads as `timestamp`.
 */
export const INVENTORY_COLUMNS = [
  { name: 'record_id', type: 'string', comment: 'UUID of this observation (deterministic for a seed)' },
  { name: 'store_id', type: 'string', comment: 'store identifier, e.g. S0001' },
  { name: 'store_city', type: 'string' },
  { name: 'store_state', type: 'string' },
  { name: 'store_country', type: 'string' },
  { name: 'product_id', type: 'string', comment: 'product identifier, e.g. P00042' },
  { name: 'product_name', type: 'string' },
  { name: 'category', type: 'string' },
  { name: 'unit_price', type: 'double', comment: 'USD' },
  { name: 'current_stock', type: 'int' },
  { name: 'min_stock', type: 'int', comment: 'restock threshold' },
  { name: 'needs_restock', type: 'boolean', comment: 'current_stock < min_stock' },
  { name: 'recorded_at', type: 'timestamp', comment: 'UTC' },
] as const satisfies readonly GlueColumn[];

type ColumnType = (typeof INVENTORY_COLUMNS)[number]['type'];
type TsOf<T extends ColumnType> = T extends 'string' | 'timestamp' ? string : T extends 'boolean' ? boolean : number;

/** One record, typed from the column list. */
export type InventoryRecord = { [C in (typeof INVENTORY_COLUMNS)[number] as C['name']]: TsOf<C['type']> };
