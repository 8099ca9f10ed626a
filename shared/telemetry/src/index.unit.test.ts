import { describe, expect, it } from 'vitest';
import { instrumentationsOn, logsExported } from './index';

describe('which instrumentations are on', () => {
  it('when nothing is set, then every one but pg (a span per SQL statement) is on', () => {
    expect(instrumentationsOn({})).toEqual(['http', 'express', 'pino']);
  });

  it('when OTEL_NODE_ENABLED_INSTRUMENTATIONS names some, then only those are on', () => {
    expect(instrumentationsOn({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http, pg' })).toEqual(['http', 'pg']);
  });

  it('when a name comes twice, then it is on once; when the list names nothing, then the default holds', () => {
    expect(instrumentationsOn({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,http' })).toEqual(['http']);
    expect(instrumentationsOn({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ' , ' })).toEqual(['http', 'express', 'pino']);
  });

  it('when OTEL_NODE_DISABLED_INSTRUMENTATIONS names some, then they are off, even if also enabled', () => {
    expect(instrumentationsOn({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pino' })).toEqual(['http', 'express']);
    expect(instrumentationsOn({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg' })).toEqual(['http']);
  });

  it('when either names an instrumentation troupe does not have, then it says which variable and which name', () => {
    expect(instrumentationsOn({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,fs' })).toBe('OTEL_NODE_ENABLED_INSTRUMENTATIONS: fs is not one of http, express, pg, pino');
    expect(instrumentationsOn({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'grpc' })).toBe('OTEL_NODE_DISABLED_INSTRUMENTATIONS: grpc is not one of http, express, pg, pino');
  });
});

describe('whether logs are exported', () => {
  it('when OTEL_LOGS_EXPORTER is none (the default startTelemetry sets) or names none among others, then they are not', () => {
    expect(logsExported({ OTEL_LOGS_EXPORTER: 'none' })).toBe(false);
    expect(logsExported({ OTEL_LOGS_EXPORTER: 'otlp, none' })).toBe(false);
    expect(logsExported({})).toBe(false);
  });

  it('when it names an exporter, then they are', () => {
    expect(logsExported({ OTEL_LOGS_EXPORTER: 'otlp' })).toBe(true);
    expect(logsExported({ OTEL_LOGS_EXPORTER: ' console ,otlp' })).toBe(true);
  });
});
