/**
 * What domain code may take from the messaging library: the unit of work it is handed and the
 * errors it throws. This entry loads nothing else (no amqplib, no pg), so a service's domain
 * folder stays free of infrastructure; everything else comes from `@troupe/messaging`.
 */
export { DependencyError, PermanentError } from './errors';
export type { UnitOfWork } from './unit-of-work/unit-of-work';
