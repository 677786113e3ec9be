import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** How the receiver answers one request: a status, or a custom behaviour (hang, redirect, garbage). */
export type Answer = number | ((response: ServerResponse) => void);

/**
 * A webhook subscriber on loopback for tests: records every request and answers with the next scripted
 * answer (then 200 by default).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly #server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      this.received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
        at: performance.now(),
      });
      const answer = this.#script.shift() ?? this.fallback;
      if (typeof answer === "number") response.writeHead(answer).end();
      else answer(response);
      for (const waiter of [...this.#waiters]) waiter();
    });
  });
  readonly #script: Answer[] = [];
  readonly #waiters = new Set<() => void>();
  fallback: Answer = 200;

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** The next requests get these answers, in order. */
  script(...answers: Answer[]): void {
    this.#script.push(...answers);
  }

  /** The CloudEvents received, parsed. */
  events(): { id: string; type: string; subject: string; sequence: string; data: Record<string, unknown> }[] {
    return this.received.map((r) => JSON.parse(r.body));
  }

  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`expected ${count} webhooks, got ${this.received.length} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
