/**
 * Where this process's own outbox events are, so the two ways out (see `OutboxRelay`) never
 * send one event twice and never overtake one another.
 */
export class OutboxLedger {
  /** Published straight after their commit, or having their rows deleted: the claim skips them. */
  readonly publishing = new Set<string>();
  /** Left to the claim, which takes them at once: while any is here, new commits join them. */
  readonly deferred = new Set<string>();
  /** The first claim after start has run: rows left from before are out of the way of new events. */
  claimedOnce = false;

  /** These events go out by the claim, in order after anything older of their orders. */
  defer(ids: Iterable<string>): void {
    for (const id of ids) {
      this.publishing.delete(id);
      this.deferred.add(id);
    }
  }
}
