/** Every committed change to stock levels NOTIFYs this channel with the SKUs it touched. */
export const STOCK_CHANNEL = 'inventory_stock_levels';
