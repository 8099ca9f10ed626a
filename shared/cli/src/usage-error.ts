/** A mistake in how the command was called: printed as it is, exit code 2. */
export class UsageError extends Error {}
