{{#queue}}
// Kafka: the service's topic and consumer group (terraform/queue.tf),
// configured by KAFKA_BROKERS, KAFKA_TOPIC and KAFKA_GROUP (config.ts).
// The client is not wired in: the golden path keeps its dependencies to
// TypeScript itself, and the team picks the Kafka client.
{{#worker}}
// KafkaSource is the worker's Source: fill in the four marked places.
// Until then start() fails, so a deployed worker says what is missing
// instead of sitting idle and looking healthy.

import type { KafkaConfig } from "./config.js";
import type { Logger } from "./log.js";
import type { Job, Source } from "./worker.js";

export class KafkaSource implements Source {
  readonly #cfg: KafkaConfig;
  readonly #log: Logger;

  constructor(cfg: KafkaConfig, log: Logger) {
    this.#cfg = cfg;
    this.#log = log;
  }

  async start(): Promise<void> {
    if (this.#cfg.brokers.length === 0) {
      throw new Error("KAFKA_BROKERS is not set: the Deployment takes it from the ConfigMap in terraform/queue.tf");
    }
    this.#log.info("kafka: connecting", {
      brokers: this.#cfg.brokers,
      topic: this.#cfg.topic,
      group: this.#cfg.group,
    });
    // THE KAFKA CONSUMER GOES HERE (1/4): create it and subscribe, e.g.
    // with kafkajs (npm install kafkajs):
    //   this.consumer = new Kafka({ brokers: this.#cfg.brokers })
    //     .consumer({ groupId: this.#cfg.group });
    //   await this.consumer.connect();
    //   await this.consumer.subscribe({ topic: this.#cfg.topic });
    // and feed the messages to next() (consumer.run's eachMessage pushing
    // into a small buffer, paused while it is full). Message headers
    // become Job.headers: the producer's traceparent continues the trace.
    throw new Error("KafkaSource is not wired to a Kafka client yet: fill in src/queue.ts");
  }

  async next(signal: AbortSignal): Promise<Job | undefined> {
    // (2/4): the next buffered message as a Job, waiting for one
    void signal;
    return undefined;
  }

  async done(job: Job, ok: boolean): Promise<void> {
    // (3/4): commit the message's offset; a failed job (ok false) is
    // usually committed too, after sending it to a dead-letter topic
    void job;
    void ok;
  }

  depth(): number {
    // (4/4): the consumer group's lag (the high watermark minus the
    // committed offset, summed over the partitions)
    return 0;
  }

  async close(): Promise<void> {
    // disconnect the consumer: leaves the group at once, so its
    // partitions move to the other pods without waiting for a timeout
  }
}
{{/worker}}
{{^worker}}
// A producer goes here: create it once at start (e.g. kafkajs, `new
// Kafka({ brokers: cfg.kafka.brokers }).producer()`), send to
// cfg.kafka.topic with the active span's traceparent in the message's
// headers (tracer.inject(headers)), and disconnect it at shutdown.
export {};
{{/worker}}
{{/queue}}
