/**
 * `npm run bench -- <area>`: runs one benchmark area. Each area lives in its own file and prints its
 * figures as ratios against a ceiling measured in the same run (see docs/benchmarks.md).
 */

interface Area {
  readonly summary: string;
  readonly run: (args: readonly string[]) => Promise<number>;
}

const AREAS: Readonly<Record<string, Area>> = {
  status: {
    summary: "public card status over HTTP with 1,000,000 cards, against a bare node:http server",
    run: async (args) => (await import("./status-bench.ts")).runStatusBench(args),
  },
  privacy: {
    summary: "authenticated card read with and without audit trail and projection; audit verification rate",
    run: async (args) => (await import("./privacy-bench.ts")).runPrivacyBench(args),
  },
  postgres: {
    summary: "bulk load vs raw COPY, public status on PostgreSQL vs SQLite, two hub processes vs one",
    run: async (args) => (await import("./postgres-bench.ts")).runPostgresBench(args),
  },
  events: {
    summary:
      "change → webhook latency (SQLite, PostgreSQL + NATS), fan-out to 1,000 subscriptions, relay throughput",
    run: async (args) => (await import("./events-bench.ts")).runEventsBench(args),
  },
  credentials: {
    summary:
      "credentials issued/s, offline verifications/s, a 1,000,000-entry status list, change → list served",
    run: async (args) => (await import("./credentials-bench.ts")).runCredentialsBench(args),
  },
  connectors: {
    summary:
      "1,000,000-row CSV import vs raw inserts, peak RSS, 1 %-changed re-sync, LDAP sync vs ldapsearch",
    run: async (args) => (await import("./connectors-bench.ts")).runConnectorsBench(args),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(AREAS).map((name) => name.length));
  const lines = Object.entries(AREAS).map(([name, area]) => `  ${name.padEnd(width)}  ${area.summary}`);
  return `usage: npm run bench -- <area>\n\nareas:\n${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const area = AREAS[name];
  if (!area) {
    process.stderr.write(`unknown benchmark area "${name}"\n\n${usage()}`);
    return 2;
  }
  return area.run(rest);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
