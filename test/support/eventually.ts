/**
 * Retries `check` until it stops throwing, for things that happen "soon" in the background (a delivery
 * recorded, a relay caught up). The bound is generous on purpose: precise timings belong to the benchmarks.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
