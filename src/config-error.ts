/** A configuration value the hub cannot run with: names the variable and what is wrong, never its value. */
export class ConfigError extends Error {
  constructor(variable: string, reason: string) {
    super(`configuration: ${variable} ${reason}`);
    this.name = "ConfigError";
  }
}
