/**
 * Every metric troupe's services export, by name (with its unit): the code registers each under
 * this name, and the dashboard (infra/grafana) is held to this list by test/compose.tools.test.ts.
 */
export const METRIC = {
  // shared/messaging
  messagesPublished: 'troupe_messages_published_total',
  messagesConsumed: 'troupe_messages_consumed_total',
  handlerDuration: 'troupe_message_handler_duration_seconds',
  messagesRetried: 'troupe_messages_retried_total',
  messagesDeadLettered: 'troupe_messages_dead_lettered_total',
  inboxDuplicates: 'troupe_inbox_duplicates_total',
  consumerUp: 'troupe_consumer_up',
  dependencyUp: 'troupe_dependency_up',
  dependencyOutages: 'troupe_dependency_outages_total',
  brokerConnected: 'troupe_broker_connected',
  dlqReplayed: 'troupe_dlq_replayed_total',
  deadLettersKept: 'troupe_dead_letters_kept_total',
  publishFailures: 'troupe_publish_failures_total',
  consumerBatch: 'troupe_consumer_batch_messages',
  outboxPending: 'troupe_outbox_pending_messages',
  outboxOldestAge: 'troupe_outbox_oldest_age_seconds',
  // shared/platform
  httpRequests: 'troupe_http_requests_total',
  httpDuration: 'troupe_http_request_duration_seconds',
  // shared/service
  prunedRows: 'troupe_pruned_rows_total',
  // services/order
  ordersPlaced: 'troupe_orders_placed_total',
  ordersCompleted: 'troupe_orders_completed_total',
  ordersCancelled: 'troupe_orders_cancelled_total',
  orderCompletion: 'troupe_order_completion_duration_seconds',
  orderRequestsShed: 'troupe_order_requests_shed_total',
  orderRequestQueue: 'troupe_order_request_queue_seconds',
  orderTransaction: 'troupe_order_transaction_requests',
  // services/web
  liveStreams: 'troupe_web_live_streams',
  liveStreamsRefused: 'troupe_web_live_streams_refused_total',
  liveStreamsDropped: 'troupe_web_live_streams_dropped_total',
  liveStreamUpdatesSkipped: 'troupe_web_live_stream_updates_skipped_total',
  // services/observer
  invariantViolationsOpen: 'troupe_invariant_violations_open',
  invariantViolations: 'troupe_invariant_violations_total',
  observerMessages: 'troupe_observer_messages_total',
  observerDrift: 'troupe_observer_drift',
  observerReadFailures: 'troupe_observer_read_failures_total',
  observerReadsDeferred: 'troupe_observer_reads_deferred_total',
} as const;

/** The histograms among them: queried through their `_bucket`, `_sum` and `_count` series, never by the bare name. */
export const HISTOGRAM_METRICS: readonly string[] = [
  METRIC.handlerDuration,
  METRIC.consumerBatch,
  METRIC.httpDuration,
  METRIC.orderCompletion,
  METRIC.orderRequestQueue,
  METRIC.orderTransaction,
];
