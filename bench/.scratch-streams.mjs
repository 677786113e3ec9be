import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
const nc = await connect({ servers: "nats://127.0.0.1:4222" });
const jsm = await jetstreamManager(nc);
for await (const s of jsm.streams.list()) console.log(s.config.name, s.state.messages);
await nc.close();
