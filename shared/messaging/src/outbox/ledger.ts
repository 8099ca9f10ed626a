/**
 * Where this process's own outbox events are, so the two ways out (see `OutboxRelay`) never
 * send one event twice and never overtake one another. The relay and its claimer tell it what
 * they do; it alone holds the sets.
 */
export class OutboxLedger {
  /** Published straight after their commit, until their rows are deleted: the claim skips them. */
  private readonly publishing = new Set<string>();
  /** Left to the claim, which takes them at once: while any is here, new commits join them. */
  private readonly deferred = new Set<string>();
  /** The first claim after start has run: rows left from before are out of the way of new events. */
  private claimedOnce = false;

  /** Whether a commit's events may go out straight away: the first claim has run and none is deferred. */
  get directOpen(): boolean {
    return this.claimedOnce && this.deferred.size === 0;
  }

  get hasDeferred(): boolean {
    return this.deferred.size > 0;
  }

  /** These events are on their way out straight after their commit: the claim must not take them. */
  publishingDirect(ids: Iterable<string>): void {
    for (const id of ids) this.publishing.add(id);
  }

  /** The direct way is done with these: their rows are deleted (or left to the sweep). */
  directDone(ids: Iterable<string>): void {
    for (const id of ids) this.publishing.delete(id);
  }

  /** These events go out by the claim, in order after anything older of their orders. */
  defer(ids: Iterable<string>): void {
    for (const id of ids) {
      this.publishing.delete(id);
      this.deferred.add(id);
    }
  }

  /** What a claim must skip (published directly) and what it takes at once (deferred). */
  claimFilter(): { publishing: string[]; deferred: string[] } {
    return { publishing: [...this.publishing], deferred: [...this.deferred] };
  }

  /** The claim published these (or found their rows gone): nothing left to wait for. */
  sentByClaim(ids: Iterable<string>): void {
    for (const id of ids) this.deferred.delete(id);
  }

  /** A claim has run to its end. */
  claimRan(): void {
    this.claimedOnce = true;
  }

  deferredIds(): string[] {
    return [...this.deferred];
  }
}
