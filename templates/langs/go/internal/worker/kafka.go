{{#worker}}
{{#queue}}
package worker

import (
	"errors"

	"{{service.name}}/internal/queue"
)

// ErrNoKafkaClient says the Kafka consumer is still to be written.
var ErrNoKafkaClient = errors.New("no Kafka consumer in this build: write NewKafkaSource in internal/worker/kafka.go")

// NewKafkaSource is where the Kafka consumer goes: a Source reading
// cfg.Topic as consumer group cfg.Group from cfg.Brokers. No Kafka client
// can be downloaded in this offline build, so until you add one it returns
// ErrNoKafkaClient and the worker refuses to start: a worker that said it
// was ready while consuming nothing would hide that the work is not done.
//
// With github.com/segmentio/kafka-go, for example:
//
//	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Topic, GroupID: cfg.Group})
//	Next:  m, err := r.FetchMessage(ctx); Job{ID: topic/partition/offset, Payload: m.Value, Headers: m.Headers}
//	Ack:   r.CommitMessages(ctx, m)   (after the handler, never before)
//	Depth: r.Stats().Lag
//	and r.Close() on shutdown.
func NewKafkaSource(cfg queue.Config) (Source, error) {
	_ = cfg
	return nil, ErrNoKafkaClient
}
{{/queue}}
{{/worker}}
