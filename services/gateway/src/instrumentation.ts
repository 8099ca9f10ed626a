// Loaded with `node --import` before the gateway itself, so that OpenTelemetry can patch http,
// express, pg and pino before anything loads them (see @troupe/telemetry).
import { startTelemetry } from '@troupe/telemetry';

startTelemetry('gateway');
