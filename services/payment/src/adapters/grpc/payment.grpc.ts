import type { ConnectRouter } from '@connectrpc/connect';
import { notFound, parseRequest } from '@mercato/chassis';
import { PaymentService } from '@mercato/contracts/grpc/payment';
import * as z from 'zod';
import type { PaymentStore } from '../../application/payment-store.port.ts';

const byOrder = z.object({ orderId: z.string().trim().min(1).max(128) });

export const paymentGrpc = (store: PaymentStore) => (router: ConnectRouter) =>
  router.service(PaymentService, {
    async getPayment(request) {
      const { orderId } = parseRequest(byOrder, request);
      const found = await store.get(orderId);
      if (!found) throw notFound('PAYMENT.NOT_FOUND', `No payment for order ${orderId}`);
      const { payment, refunds } = found;
      return {
        payment: {
          orderId: payment.orderId,
          paymentId: payment.paymentId,
          status: payment.status,
          amountMinor: BigInt(payment.amountMinor),
          currency: payment.currency,
          providerPaymentId: payment.providerPaymentId ?? '',
          capturedMinor: BigInt(payment.capturedMinor),
          refundedMinor: BigInt(payment.refundedMinor),
          reason: payment.reason ?? '',
          refunds: refunds.map((refund) => ({
            refundId: refund.refundId,
            providerRefundId: refund.providerRefundId,
            amountMinor: BigInt(refund.amountMinor),
            createdAt: refund.createdAt.toISOString(),
          })),
        },
      };
    },
  });
