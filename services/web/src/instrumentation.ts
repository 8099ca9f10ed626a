// Loaded with `node --import` before the web front itself: its calls to the services carry the
// trace context, so an order placed from the page is one trace from the click to the e-mail.
import { startTelemetry } from '@troupe/telemetry';

startTelemetry('web');
