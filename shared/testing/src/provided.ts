// What the global setup hands every test file (`inject('rabbitmqUrl')`, …).
declare module 'vitest' {
  export interface ProvidedContext {
    rabbitmqUrl: string;
    /** How to administer the broker: a management API URL, or `rabbitmqctl` (see broker-admin.ts). */
    brokerAdmin: string;
    databaseUrl: string;
  }
}

export {};
