export interface RefreshRecord {
  userId: string;
  familyId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

/**
 * What presenting a refresh token means: unknown, revoked or expired → invalid; already spent →
 * reused (someone replayed it, so the family may be stolen and is revoked); otherwise valid.
 */
export function refreshVerdict(record: RefreshRecord | undefined, now: Date): 'invalid' | 'reused' | 'valid' {
  if (!record || record.revokedAt || record.expiresAt.getTime() <= now.getTime()) return 'invalid';
  if (record.usedAt) return 'reused';
  return 'valid';
}
