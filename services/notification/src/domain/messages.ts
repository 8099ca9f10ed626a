import type { NotificationKind } from '@troupe/contracts';

export interface Message {
  subject: string;
  text: string;
}

const money = ({ amountCents, currency }: { amountCents: number; currency: string }) =>
  `${(amountCents / 100).toFixed(2)} ${currency}`;

/** What the customer reads, for each way an order can end. */
export function composeMessage(
  kind: NotificationKind,
  orderId: string,
  detail: { amount?: { amountCents: number; currency: string }; reason?: string; items?: { sku: string; quantity: number }[] },
): Message {
  const ref = orderId.slice(0, 8);
  switch (kind) {
    case 'ORDER_CONFIRMED':
      return {
        subject: `Your order ${ref} is confirmed`,
        text: `Good news: your order ${orderId} is paid and reserved.\n${(detail.items ?? []).map((i) => `  ${i.quantity} × ${i.sku}`).join('\n')}\n`,
      };
    case 'PAYMENT_DECLINED':
      return {
        subject: `Your order ${ref} could not be paid`,
        text: `We could not charge ${detail.amount ? money(detail.amount) : 'your card'} for order ${orderId} (${detail.reason ?? 'declined'}). Nothing was charged.\n`,
      };
    case 'ORDER_CANCELLED_REFUNDED':
      return {
        subject: `Your order ${ref} was cancelled and refunded`,
        text: `Sorry: we could not reserve the stock for order ${orderId} (${detail.reason ?? 'out of stock'}). We refunded ${detail.amount ? money(detail.amount) : 'your payment'} in full.\n`,
      };
  }
}
