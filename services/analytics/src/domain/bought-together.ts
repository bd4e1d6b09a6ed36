/** Every ordered pair of distinct SKUs of one order: what "bought together" counts. */
export function pairsOf(skus: readonly string[]): Array<[string, string]> {
  const distinct = [...new Set(skus)].sort();
  return distinct.flatMap((sku) =>
    distinct.filter((other) => other !== sku).map((other): [string, string] => [sku, other]),
  );
}

export interface Recommendation {
  sku: string;
  reason: 'bought_together' | 'popular_in_category';
  score: number;
  category: string;
}

/**
 * Recommendations for a customer: what others bought together with the customer's purchases
 * first (strongest first), then what is popular in the categories they buy from, never what they
 * bought already, at most `limit`.
 */
export function recommend(
  together: readonly Recommendation[],
  popular: readonly Recommendation[],
  owned: ReadonlySet<string>,
  limit: number,
): Recommendation[] {
  const chosen = new Map<string, Recommendation>();
  for (const candidate of [...together, ...popular]) {
    if (chosen.size >= limit) break;
    if (owned.has(candidate.sku) || chosen.has(candidate.sku)) continue;
    chosen.set(candidate.sku, candidate);
  }
  return [...chosen.values()];
}
