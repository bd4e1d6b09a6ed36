import { logPositionValue } from '@mercato/contracts';

/** A log sequence number (`16/B374D848`) as one comparable integer. */
export const lsnValue = logPositionValue;

const lsnText = (value: bigint): string =>
  `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;

/** The upper-case form PostgreSQL prints (`0/1A2B3C`). */
export const normalLsn = (lsn: string): string => lsnText(lsnValue(lsn));

/** The LSN one byte before (`0/1A2B3B`), for an API that adds one to what it is given. */
export const lsnBefore = (lsn: string): string => {
  const value = lsnValue(lsn);
  return lsnText(value > 0n ? value - 1n : 0n);
};
