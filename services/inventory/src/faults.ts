import { Faults } from '@troupe/platform';

/** The inventory service's fault switch (off by default; see docs/decisions/0010). */
export const inventoryFaults = () =>
  new Faults({
    inventorySlownessMs: { description: 'Extra time each stock reservation takes', min: 0, max: 10_000, defaultValue: 0, unit: 'ms' },
  });

export type InventoryFaults = ReturnType<typeof inventoryFaults>;
