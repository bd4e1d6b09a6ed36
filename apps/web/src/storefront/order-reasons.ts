/** Why an order was cancelled, in words a shopper understands. */
export const reasonText: Record<string, string> = {
  payment_declined: 'Your payment was declined by the payment provider. Nothing was charged.',
  stock_unavailable: 'Some items went out of stock before we could reserve them. Nothing was charged.',
  step_timed_out: 'A part of the shop did not answer in time, so the order was cancelled and undone.',
  step_failed: 'The order could not be completed and was cancelled; anything charged was refunded.',
  customer_request: 'You cancelled this order.',
  shipping_failed: 'The carrier could not deliver this order; it was cancelled and refunded.',
};

export const statusSteps = ['pending', 'confirmed', 'shipped', 'delivered'] as const;
