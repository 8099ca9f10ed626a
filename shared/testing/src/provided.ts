import type { Access } from './access';
// Loads vitest's types, so the augmentation below has a module to augment (types only: nothing at run time).
import type {} from 'vitest';

// What the global setup hands every test file (`inject('rabbitmqUrl')`, …).
declare module 'vitest' {
  export interface ProvidedContext {
    rabbitmqUrl: string;
    /** How to administer the broker: a management API URL, or `rabbitmqctl` (see broker-admin.ts). */
    brokerAdmin: string;
    /** The admin (superuser) URL of the Postgres to test against. */
    databaseUrl: string;
    /** This run's per-service broker users and database roles. */
    access: Access;
  }
}

export {};
