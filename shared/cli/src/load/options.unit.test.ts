import { describe, expect, it } from 'vitest';
import { UsageError } from '../usage-error';
import { parseLoadOptions } from './options';

describe('troupe load options', () => {
  it('when nothing is given, then 10 in flight, 100 orders, the default mix, against ORDER_URL', () => {
    expect(parseLoadOptions([], { ORDER_URL: 'http://order:3000/' })).toEqual({
      url: 'http://order:3000',
      mode: { concurrency: 10 },
      stop: { count: 100 },
      mix: { paid: 70, declined: 10, soldout: 10, flaky: 10 },
      timeoutMs: 60_000,
      json: false,
    });
  });

  it('when a rate, a duration and a mix are given, then they are read with their units', () => {
    expect(parseLoadOptions(['--rate', '25', '--duration', '2m', '--mix', 'paid=1,flaky=1', '--timeout', '1500ms', '--json'], {})).toMatchObject({
      mode: { rate: 25 },
      stop: { durationMs: 120_000 },
      mix: { paid: 1, flaky: 1 },
      timeoutMs: 1500,
      json: true,
      url: 'http://127.0.0.1:3000',
    });
  });

  it.each([
    [['--rate', '5', '--concurrency', '2'], /--rate or --concurrency, not both/],
    [['--count', '5', '--duration', '10s'], /--duration or --count, not both/],
    [['--rate', '0'], /--rate must be a number above 0/],
    [['--rate', 'fast'], /--rate must be a number/],
    [['--concurrency', '2.5'], /--concurrency must be a whole number/],
    [['--count=-1'], /--count must be a number above 0/],
    [['--duration', '10 minutes'], /--duration must be a duration/],
    [['--duration', '10ms'], /--duration must be a duration between 100ms and 24h/],
    [['--mix', 'paid=70,lost=30'], /--mix must be path=weight pairs .* \(got "lost=30"\)/],
    [['--mix', 'paid=0'], /--mix needs at least one weight above 0/],
    [['--url', 'ftp://x'], /--url \(or ORDER_URL\) must be an http\(s\) URL/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('when called with %j, then a usage error names the problem', (argv, message) => {
    expect(() => parseLoadOptions(argv, {})).toThrow(UsageError);
    expect(() => parseLoadOptions(argv, {})).toThrow(message);
  });
});
