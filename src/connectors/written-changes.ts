import type { SyncSummary } from "./sync-report.ts";

/**
 * An `onProgress` for the sync engine that calls `onChanged` each time the run has written something since
 * it was last called: what the hub keeps in memory about the data (the public status of cards) is dropped
 * as the run's batches commit, not only once it ends.
 */
export function onWrites(onChanged: () => void): (summary: SyncSummary) => void {
  let written = 0;
  return (summary) => {
    const now = summary.created + summary.updated + summary.ended;
    if (now === written) return;
    written = now;
    onChanged();
  };
}
