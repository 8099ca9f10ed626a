import { describe, expect, it } from 'vitest';
import { decodeEvent } from './events';

describe('decodeEvent', () => {
  it('when a body is not JSON, then the reason says where it breaks and quotes none of it', () => {
    const result = decodeEvent('{"email": "ada@example.com", oops');
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^body is not valid JSON( \(at character \d+\))?$/) });
    expect(JSON.stringify(result)).not.toContain('ada@example.com');
  });

  it('when a body ends too soon, then the reason still quotes none of it', () => {
    const result = decodeEvent('{"email": "ada@example.com"');
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('ada@');
  });
});
