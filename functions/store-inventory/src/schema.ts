import { z } from 'zod';
import { INVENTORY_COLUMNS, type InventoryRecord } from './columns.ts';

const byType = {
  string: z.string().min(1),
  int: z.number().int().min(0),
  double: z.number().finite().min(0),
  boolean: z.boolean(),
  timestamp: z.iso.datetime(),
} as const;

/** The record schema, derived from the columns: a generator change that breaks the table fails here. */
export const inventoryRecordSchema = z.strictObject(
  Object.fromEntries(INVENTORY_COLUMNS.map((c) => [c.name, byType[c.type]])) as z.ZodRawShape,
) as unknown as z.ZodType<InventoryRecord>;
