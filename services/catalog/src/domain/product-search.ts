/** A page request as the domain sees it: 1-based page, bounded size. */
export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface Page<Item> {
  items: Item[];
  page: number;
  pageSize: number;
  total: number;
}

export const MAX_PAGE_SIZE = 100;

export const offsetOf = ({ page, pageSize }: PageRequest): number => (page - 1) * pageSize;

/**
 * Turns free text into prefix terms for full-text search ("wool sock" → ["wool", "sock"]) so that
 * partly typed words still match. Only letters and digits survive, which keeps the query safe to
 * hand to `to_tsquery`.
 */
export function searchTerms(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((term) => term.length > 0)
    .slice(0, 8);
}
