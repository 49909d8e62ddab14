{{#queue}}
package queue

import "testing"

func TestFromEnv(t *testing.T) {
	env := map[string]string{"KAFKA_BROKERS": " kafka-0:9092, kafka-1:9092 ,"}
	c := FromEnv(func(k string) string { return env[k] }, "{{service.name}}")
	if len(c.Brokers) != 2 || c.Brokers[0] != "kafka-0:9092" || c.Brokers[1] != "kafka-1:9092" {
		t.Errorf("brokers %q", c.Brokers)
	}
	if c.Topic != "{{service.name}}" || c.Group != "{{service.name}}" {
		t.Errorf("topic %q group %q, want the service name", c.Topic, c.Group)
	}
	if c.Missing() != "" {
		t.Errorf("Missing() = %q", c.Missing())
	}
	if FromEnv(func(string) string { return "" }, "s").Missing() == "" {
		t.Error("no brokers, yet nothing missing")
	}
}
{{/queue}}
