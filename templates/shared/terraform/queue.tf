{{#queue}}
# The service's queue: a Kafka topic named {{service.name}}, and the right
# for the service's principal (User:{{service.name}}) to produce to it and to
# consume it as consumer group {{service.name}}. The brokers' address is
# written to the ConfigMap {{service.name}}-kafka (key "brokers"), which
# k8s/ passes to the code as KAFKA_BROKERS; KAFKA_TOPIC and KAFKA_GROUP are
# the service's name.

provider "kafka" {
  bootstrap_servers = var.kafka_bootstrap_servers
  tls_enabled       = var.kafka_tls_enabled
}

variable "kafka_bootstrap_servers" {
  description = "The Kafka cluster's brokers, host:port."
  type        = list(string)
  default     = ["kafka-bootstrap.kafka.svc:9092"]
}

variable "kafka_tls_enabled" {
  description = "Whether terraform talks to the brokers over TLS."
  type        = bool
  default     = false
}

variable "kafka_partitions" {
  description = "Partitions: the most consumers that can work at once. Can grow, never shrink."
  type        = number
  default     = 6
}

resource "kafka_topic" "main" {
  name = "{{service.name}}"
  # 3 copies, and a write needs 2 of them: one broker can be lost
  # without losing a message or stopping the producers
  replication_factor = 3
  partitions         = var.kafka_partitions

  config = {
    "retention.ms"        = "604800000" # 7 days to catch up after an outage
    "min.insync.replicas" = "2"
    "cleanup.policy"      = "delete"
  }
}

locals {
  kafka_principal = "User:{{service.name}}"
}

resource "kafka_acl" "produce" {
  resource_name                = kafka_topic.main.name
  resource_type                = "Topic"
  acl_principal                = local.kafka_principal
  acl_host                     = "*"
  acl_operation                = "Write"
  acl_permission_type          = "Allow"
  resource_pattern_type_filter = "Literal"
}

resource "kafka_acl" "consume" {
  resource_name                = kafka_topic.main.name
  resource_type                = "Topic"
  acl_principal                = local.kafka_principal
  acl_host                     = "*"
  acl_operation                = "Read"
  acl_permission_type          = "Allow"
  resource_pattern_type_filter = "Literal"
}

resource "kafka_acl" "describe" {
  resource_name                = kafka_topic.main.name
  resource_type                = "Topic"
  acl_principal                = local.kafka_principal
  acl_host                     = "*"
  acl_operation                = "Describe"
  acl_permission_type          = "Allow"
  resource_pattern_type_filter = "Literal"
}

# the consumer group: committing offsets needs Read on the group
resource "kafka_acl" "group" {
  resource_name                = "{{service.name}}"
  resource_type                = "Group"
  acl_principal                = local.kafka_principal
  acl_host                     = "*"
  acl_operation                = "Read"
  acl_permission_type          = "Allow"
  resource_pattern_type_filter = "Literal"
}

resource "kubernetes_config_map_v1" "kafka" {
  metadata {
    name      = "{{service.name}}-kafka"
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/name" = "{{service.name}}"
      "paved.dev/owner"        = "{{owner}}"
    }
  }

  data = {
    brokers = join(",", var.kafka_bootstrap_servers)
  }
}
{{/queue}}
