import { useSyncExternalStore } from 'react';

export interface CartLine {
  sku: string;
  name: string;
  quantity: number;
}

const KEY = 'mercato.cart';
const listeners = new Set<() => void>();
let cached: { raw: string | null; lines: CartLine[] } = { raw: null, lines: [] };

function read(): CartLine[] {
  const raw = localStorage.getItem(KEY);
  if (raw !== cached.raw) {
    try {
      cached = { raw, lines: raw ? (JSON.parse(raw) as CartLine[]) : [] };
    } catch {
      cached = { raw, lines: [] };
    }
  }
  return cached.lines;
}

function write(lines: CartLine[]): void {
  localStorage.setItem(KEY, JSON.stringify(lines));
  for (const listener of listeners) listener();
}

/** The basket, kept in the browser until checkout. */
export const cart = {
  add(sku: string, name: string, quantity = 1): void {
    const lines = read();
    const existing = lines.find((line) => line.sku === sku);
    write(
      existing
        ? lines.map((line) => (line.sku === sku ? { ...line, quantity: line.quantity + quantity } : line))
        : [...lines, { sku, name, quantity }],
    );
  },
  setQuantity(sku: string, quantity: number): void {
    write(
      quantity <= 0
        ? read().filter((line) => line.sku !== sku)
        : read().map((line) => (line.sku === sku ? { ...line, quantity } : line)),
    );
  },
  clear(): void {
    write([]);
  },
};

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

export const useCart = (): CartLine[] => useSyncExternalStore(subscribe, read);
