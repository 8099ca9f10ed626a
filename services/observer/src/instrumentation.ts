// Loaded with `node --import` before the observer itself: its reads of the services carry a trace
// context of their own, and its HTTP answers are spans like every service's.
import { startTelemetry } from '@troupe/telemetry';

startTelemetry('observer');
