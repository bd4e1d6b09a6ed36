import { ulid } from '@mercato/contracts';

/** Sortable, prefixed identifiers such as `prd_01JD…` or `evt_01JD…`: the prefix says what it names. */
export const newId = (prefix: string): string => `${prefix}_${ulid()}`;

export type IdGenerator = (prefix: string) => string;
