{{#queue}}
// Package queue holds the Kafka settings the platform gives the service
// (terraform/queue.tf makes the topic and the consumer group; the manifests
// set the variables). It reads configuration only: no Kafka client can be
// downloaded in this offline build, so the client is yours to add, e.g.
// github.com/segmentio/kafka-go or github.com/twmb/franz-go:
//   - a consumer: see internal/worker/kafka.go (worker services);
//   - a producer: create it in main.go from Config, close it on shutdown,
//     and put the span's traceparent in each record's headers
//     (tracing.Inject on an http.Header, then copy) so consumers continue
//     the trace.
package queue

import "strings"

// Config is where the topic lives and who consumes it.
type Config struct {
	Brokers []string // KAFKA_BROKERS, comma-separated host:port
	Topic   string   // KAFKA_TOPIC, default the service name
	Group   string   // KAFKA_GROUP, the consumer group, default the service name
}

// FromEnv reads the KAFKA_* variables; service is the default topic and
// group.
func FromEnv(getenv func(string) string, service string) Config {
	c := Config{Topic: getenv("KAFKA_TOPIC"), Group: getenv("KAFKA_GROUP")}
	for _, b := range strings.Split(getenv("KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	if c.Topic == "" {
		c.Topic = service
	}
	if c.Group == "" {
		c.Group = service
	}
	return c
}

// Missing says what is not configured, or "" when nothing is.
func (c Config) Missing() string {
	if len(c.Brokers) == 0 {
		return "KAFKA_BROKERS is not set"
	}
	return ""
}
{{/queue}}
