import * as z from 'zod';

/** Emails compare case-insensitively; we store them lower-cased. */
export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .email({ error: 'expected an email address' })
  .transform((email) => email.toLowerCase());

/** NIST 800-63B: length over composition rules; the upper bound keeps hashing cheap to bound. */
export const passwordSchema = z
  .string()
  .min(10, { error: 'expected at least 10 characters' })
  .max(128, { error: 'expected at most 128 characters' });

export const nameSchema = z.string().trim().min(1, { error: 'must not be empty' }).max(100);
