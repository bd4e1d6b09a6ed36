import type { ConnectRouter } from '@connectrpc/connect';
import { mayActFor, parseRequest } from '@mercato/chassis';
import { NotificationService } from '@mercato/contracts/grpc/notification';
import * as z from 'zod';
import type { NotificationStore, SentNotification } from '../../application/notification-ports.ts';

const listRequest = z.object({
  customerId: z.string().trim().min(1).max(128),
  limit: z.number().int().min(0).max(500),
});

export const toNotificationMessage = (sent: SentNotification) => ({
  messageId: sent.messageId,
  kind: sent.kind,
  orderId: sent.orderId ?? '',
  recipient: sent.recipient,
  subject: sent.subject,
  sentAt: sent.sentAt.toISOString(),
  sends: sent.sends,
});

export const notificationGrpc = (store: NotificationStore) => (router: ConnectRouter) =>
  router.service(NotificationService, {
    async listNotifications(request) {
      const { customerId, limit } = parseRequest(listRequest, request);
      // Another customer's mails look like none (under a call policy: `mayActFor`).
      if (!mayActFor(customerId)) return { notifications: [] };
      const sent = await store.list({ customerId, limit: limit || 50 });
      return { notifications: sent.map(toNotificationMessage) };
    },
  });
