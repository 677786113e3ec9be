import { ConfigError, loadConfig } from "./config.ts";
import { StartupError, serveUntilSignalled } from "./start-hub.ts";

/** `npm start`: the hub with the configuration from the environment. */
async function main(): Promise<void> {
  await serveUntilSignalled(loadConfig());
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof StartupError) {
    process.stderr.write(`failed to start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
