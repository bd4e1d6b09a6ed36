import type * as z from 'zod';
import { validationFailed } from '../errors/app-error.ts';

/**
 * Validates a decoded gRPC request against a zod schema. Protobuf guarantees types, not meaning
 * (an empty id, a negative quantity), so every handler parses its request before using it; the
 * failure becomes INVALID_ARGUMENT naming each field.
 */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, request: unknown): z.output<Schema> {
  const result = schema.safeParse(request);
  if (result.success) return result.data;
  throw validationFailed(
    result.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.') || 'request',
      message: issue.message,
    })),
  );
}
