"""Configuration from the environment: defaults, and clear errors."""
import unittest

from app.config import SERVICE, Config
{{#db}}

DATABASE_URL = "postgres://db/{{service.ident}}"
{{/db}}


class ConfigTest(unittest.TestCase):
    def test_defaults(self) -> None:
        config = Config.from_env({})
        self.assertEqual(SERVICE, "{{service.name}}")
        self.assertEqual(config.service, SERVICE)
        self.assertEqual(config.port, 8080)
        self.assertEqual(config.log_level, "info")
        self.assertEqual(config.otlp_endpoint, "")
{{#db}}
        self.assertEqual(config.database_url, "")
{{/db}}
{{#queue}}
        self.assertEqual(config.kafka_brokers, "")
        self.assertEqual(config.kafka_topic, SERVICE)
        self.assertEqual(config.kafka_group, SERVICE)
{{/queue}}

    def test_from_env(self) -> None:
        config = Config.from_env({
            "PORT": "9090", "LOG_LEVEL": "DEBUG", "OTEL_SERVICE_NAME": "other",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
{{#db}}
            "DATABASE_URL": DATABASE_URL,
{{/db}}
{{#queue}}
            "KAFKA_BROKERS": "k1:9092,k2:9092", "KAFKA_TOPIC": "t", "KAFKA_GROUP": "g",
{{/queue}}
        })
        self.assertEqual((config.port, config.log_level, config.service), (9090, "debug", "other"))
        self.assertEqual(config.otlp_endpoint, "http://collector:4318")
{{#db}}
        self.assertEqual(config.database_url, DATABASE_URL)
{{/db}}
{{#queue}}
        self.assertEqual((config.kafka_brokers, config.kafka_topic, config.kafka_group),
                         ("k1:9092,k2:9092", "t", "g"))
{{/queue}}

    def test_warn_is_warning(self) -> None:
        self.assertEqual(Config.from_env({"LOG_LEVEL": "warn"}).log_level, "warning")

    def test_bad_values(self) -> None:
        for env, word in [({"PORT": "http"}, "PORT"), ({"PORT": "70000"}, "PORT"),
                          ({"PORT": "-1"}, "PORT"), ({"LOG_LEVEL": "loud"}, "LOG_LEVEL")]:
            with self.subTest(env=env):
                with self.assertRaises(ValueError) as caught:
                    Config.from_env(env)
                self.assertIn(word, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
