import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The bench's measure of the overload's arrival order (scripts/bench/load.js).
const { overtakes } = createRequire(__filename)('../scripts/bench/load.js') as {
  overtakes: (requests: { sentAt: number; answeredAt: number }[]) => number[];
};

describe("the bench's arrival order", () => {
  it('when requests are answered in the order they were sent, then none is overtaken', () => {
    expect(overtakes([{ sentAt: 0, answeredAt: 5 }, { sentAt: 1, answeredAt: 6 }, { sentAt: 2, answeredAt: 9 }])).toEqual([0, 0, 0]);
  });

  it('when later requests are answered first, then each counts the later ones answered before it, in the order sent', () => {
    const requests = [
      { sentAt: 2, answeredAt: 4 },
      { sentAt: 0, answeredAt: 10 },
      { sentAt: 1, answeredAt: 3 },
    ];
    expect(overtakes(requests)).toEqual([2, 0, 0]);
  });
});
