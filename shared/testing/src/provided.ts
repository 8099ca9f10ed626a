// What the global setup hands every test file (`inject('rabbitmqUrl')`, …).
declare module 'vitest' {
  export interface ProvidedContext {
    rabbitmqUrl: string;
    rabbitmqManagementUrl: string;
    databaseUrl: string;
  }
}

export {};
