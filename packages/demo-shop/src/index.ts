/** The demo shop's product lines: six categories, each item in three styles. */
const lines: Record<
  string,
  { name: string; prefix: string; items: string[]; styles: string[]; basePriceMinor: number }
> = {
  apparel: {
    basePriceMinor: 3900,
    name: 'Apparel',
    prefix: 'APP',
    items: ['Merino T-Shirt', 'Rain Jacket', 'Wool Socks', 'Canvas Trousers'],
    styles: ['Classic', 'Trail', 'Urban'],
  },
  footwear: {
    basePriceMinor: 8900,
    name: 'Footwear',
    prefix: 'FTW',
    items: ['Running Shoe', 'Hiking Boot', 'Leather Sneaker'],
    styles: ['Classic', 'Trail', 'Urban'],
  },
  kitchen: {
    basePriceMinor: 4500,
    name: 'Kitchen',
    prefix: 'KIT',
    items: ['Chef Knife', 'Cast Iron Pan', 'Pour-Over Kettle', 'Oak Cutting Board'],
    styles: ['Home', 'Pro', 'Travel'],
  },
  electronics: {
    basePriceMinor: 7900,
    name: 'Electronics',
    prefix: 'ELE',
    items: ['Noise-Cancelling Headphones', 'USB-C Charger', 'Mechanical Keyboard', 'Portable Speaker'],
    styles: ['Lite', 'Pro', 'Max'],
  },
  outdoor: {
    basePriceMinor: 12900,
    name: 'Outdoor',
    prefix: 'OUT',
    items: ['Two-Person Tent', 'Down Sleeping Bag', 'Trekking Poles'],
    styles: ['Ultralight', 'Expedition', 'Family'],
  },
  books: {
    basePriceMinor: 1900,
    name: 'Books',
    prefix: 'BOK',
    items: ['Field Guide to Birds', 'Sourdough Handbook', 'Distributed Systems Primer'],
    styles: ['Paperback', 'Hardcover', 'Illustrated'],
  },
};

export interface DemoCategory {
  slug: string;
  name: string;
}

export interface DemoProduct {
  sku: string;
  name: string;
  description: string;
  categorySlug: string;
  /** List price in euro cents. */
  priceMinor: number;
  /** Units on hand per warehouse. */
  stock: Record<DemoWarehouse, number>;
}

export const demoCurrency = 'EUR';

/** SKUs a steady order load cycles through: each in the demo shop, priced and in stock in both warehouses. */
export const demoOrderSkus: readonly string[] = [
  'BOK-0001',
  'BOK-0002',
  'BOK-0003',
  'KIT-0001',
  'KIT-0002',
  'APP-0001',
  'APP-0002',
  'ELE-0001',
];
export const demoWarehouses = ['wh-berlin', 'wh-lyon'] as const;
export type DemoWarehouse = (typeof demoWarehouses)[number];

export const demoCategories: DemoCategory[] = Object.entries(lines).map(([slug, line]) => ({
  slug,
  name: line.name,
}));

/**
 * 63 products over six categories, with stable SKUs so seeding twice adds nothing. Prices and
 * stock vary deterministically; every tenth product is out of stock in Berlin and every seventh
 * is low in Lyon, so a basket can need both warehouses.
 */
export const demoProducts: DemoProduct[] = Object.entries(lines).flatMap(([slug, line]) =>
  line.items.flatMap((item, itemIndex) =>
    line.styles.map((style, styleIndex) => {
      const ordinal = itemIndex * 10 + styleIndex + 1;
      return {
        sku: `${line.prefix}-${String(ordinal).padStart(4, '0')}`,
        name: `${style} ${item}`,
        description: `${style} edition of our ${item.toLowerCase()}, part of the ${line.name.toLowerCase()} range.`,
        categorySlug: slug,
        priceMinor: line.basePriceMinor + itemIndex * 1000 + styleIndex * 500,
        stock: {
          'wh-berlin': ordinal % 10 === 0 ? 0 : 20 + ((ordinal * 7) % 30),
          'wh-lyon': ordinal % 7 === 0 ? 3 : 10 + ((ordinal * 3) % 20),
        },
      };
    }),
  ),
);

export interface DemoDiscount {
  id: string;
  description: string;
  kind: 'percentage' | 'fixed_amount' | 'buy_x_get_y';
  /** Percentage in basis points, fixed amount in minor units per unit, or buy/free counts. */
  basisPoints?: number;
  amountMinor?: number;
  buy?: number;
  free?: number;
  sku?: string;
  category?: string;
  segment?: string;
}

export const demoDiscounts: DemoDiscount[] = [
  {
    id: 'disc-books-3for2',
    description: 'Books: buy 2, get 1 free',
    kind: 'buy_x_get_y',
    buy: 2,
    free: 1,
    category: 'books',
  },
  {
    id: 'disc-outdoor-10',
    description: 'Outdoor: 10 % off',
    kind: 'percentage',
    basisPoints: 1000,
    category: 'outdoor',
  },
  {
    id: 'disc-charger-5',
    description: 'USB-C chargers: 5.00 off each',
    kind: 'fixed_amount',
    amountMinor: 500,
    sku: 'ELE-0011',
  },
  {
    id: 'disc-members-15',
    description: 'Members: 15 % off everything',
    kind: 'percentage',
    basisPoints: 1500,
    segment: 'member',
  },
];

/** The demo user: identity registers it, customer makes it a member. */
export const demoUser = { email: 'demo@mercato.test', password: 'mercato-demo-2026', name: 'Dana Demo' };
export const demoMemberEmails = [demoUser.email];

/** The demo operator: identity registers it with the `admin` role; it opens the ops console at /ops. */
export const demoAdmin = { email: 'admin@mercato.test', password: 'mercato-admin-2026', name: 'Ada Admin' };
