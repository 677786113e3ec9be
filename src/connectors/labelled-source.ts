import type { Source, SourceItem } from "./source-record.ts";

/**
 * A source shown under another description, its failure's message rewritten to match and cleared of
 * `secrets`: what the hub records of a run, and answers about it, names neither a temporary file of the
 * server nor a password, whatever the source's own message said.
 *
 * ```ts
 * const source = labelledSource(openSource(tmpFile, "csv"), "upload:csv");
 * ```
 */
export function labelledSource(source: Source, description: string, secrets: readonly string[] = []): Source {
  return {
    description,
    async *items(): AsyncGenerator<SourceItem> {
      try {
        yield* source.items();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // No `cause`: the original may carry what the message had to lose.
        throw new Error(scrubbed(message.split(source.description).join(description), secrets));
      }
    },
  };
}

/** A source that fails as soon as it is read, with `message`: one that could not even be opened. */
export function failingSource(description: string, message: string): Source {
  return {
    description,
    // biome-ignore lint/correctness/useYield: it yields nothing, by design
    async *items(): AsyncGenerator<SourceItem> {
      throw new Error(message);
    },
  };
}

/** `text` with every secret masked. */
export function scrubbed(text: string, secrets: readonly string[]): string {
  return secrets.reduce(
    (masked, secret) => (secret === "" ? masked : masked.split(secret).join("***")),
    text,
  );
}
