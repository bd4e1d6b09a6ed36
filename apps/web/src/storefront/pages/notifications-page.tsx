import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';

/** The mails the shop sent me. */
export function NotificationsPage() {
  const session = useSession();
  const mails = useQuery({
    queryKey: ['notifications'],
    queryFn: () => unwrap(edge.GET('/api/customers/me/notifications', { params: { query: { limit: 50 } } })),
    enabled: session !== null,
    refetchInterval: 5_000,
  });
  if (!session) return <p>Please sign in to see your notifications.</p>;
  return (
    <>
      <h1>Notifications</h1>
      <ProblemMessage error={mails.error} title="Your notifications could not be loaded" />
      {mails.isSuccess && mails.data.notifications.length === 0 ? <p>No mails yet.</p> : null}
      <ul aria-label="Mails">
        {mails.data?.notifications.map((mail) => (
          <li key={mail.message_id}>
            <strong>{mail.subject}</strong> · {mail.kind} · {new Date(mail.sent_at).toLocaleString()}
            {mail.order_id ? (
              <>
                {' '}
                · <Link href={`/orders/${mail.order_id}`}>order</Link>
              </>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}
