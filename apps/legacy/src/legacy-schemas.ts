import * as z from 'zod';
import { orderStatuses } from './order-status.ts';

/**
 * An id as every route takes it: a bigserial that a JS number holds exactly. Whatever else comes
 * (text, fractions, 2^63 and beyond) is a 400 here, before any SQL sees it.
 */
export const legacyId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const idParams = z.object({
  id: z
    .string()
    // At most 15 digits: every such id is a safe integer (16 may not be, and would read another row).
    .regex(/^[1-9][0-9]{0,14}$/, { error: 'expected a positive integer id' })
    .transform(Number)
    .pipe(legacyId),
});

/** Emails are stored and compared in lower case, the way the seed holds them. */
const lowerCase = (value: string): string => value.toLowerCase();
export const email = z.email().max(254).transform(lowerCase);
/** At login any text may be tried; a malformed email is as wrong as an unknown one. */
export const loginEmail = z.string().max(254).transform(lowerCase);

export const customerName = z.string().trim().min(1).max(200);
export const address = z.string().max(500);

const timestamp = z.string();

export const customerSchema = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  address: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type CustomerJson = z.output<typeof customerSchema>;

export const productSchema = z.object({
  id: z.number(),
  sku: z.string(),
  name: z.string(),
  priceCents: z.number(),
  stockQuantity: z.number(),
  updatedAt: timestamp,
});
export type ProductJson = z.output<typeof productSchema>;

export const orderLineSchema = z.object({
  lineNo: z.number(),
  productId: z.number(),
  quantity: z.number(),
  unitPriceCents: z.number(),
});

export const orderSchema = z.object({
  id: z.number(),
  customerId: z.number(),
  status: z.enum(orderStatuses),
  totalCents: z.number(),
  placedAt: timestamp,
  updatedAt: timestamp,
  lines: z.array(orderLineSchema),
});
export type OrderJson = z.output<typeof orderSchema>;

/** The most one order line may ask for; with 20 lines it keeps totals well inside an integer. */
export const MAX_LINE_QUANTITY = 10_000;

export const newOrderBody = z.object({
  customerId: legacyId,
  lines: z
    .array(z.object({ productId: legacyId, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY) }))
    .min(1)
    .max(20),
});
export type NewOrder = z.output<typeof newOrderBody>;
