/** Integer minor units as a price: 12345, EUR → €123.45. */
export const money = (minor: number, currency = 'EUR'): string =>
  new Intl.NumberFormat('en-IE', { style: 'currency', currency }).format(minor / 100);
