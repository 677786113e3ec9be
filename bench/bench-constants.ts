import { join, resolve } from "node:path";

/** What every benchmark area shares: where it runs from, where it caches, how it reaches the hub. */
export const ROOT = resolve(import.meta.dirname, "..");
export const CACHE_DIR = join(ROOT, ".bench-cache");
/** The public status path: prefix + ESCN + suffix. */
export const STATUS_PREFIX = "/esc-rest/api/v2/cards/";
export const STATUS_SUFFIX = "/status";
/** The operator token benchmarks start hubs with (the hub refuses shorter ones); not a secret. */
export const BENCH_ADMIN_TOKEN = "oesc_bench-operator-token-not-a-secret-0123456789";
