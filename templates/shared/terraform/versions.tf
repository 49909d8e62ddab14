{{! Written only with --db or --queue. The template language has no "or",
    so the file is written twice: with the database (and maybe the queue),
    or with the queue alone. Keep the two halves alike. }}
{{#db}}
# The infrastructure of {{service.name}}: the providers, and the settings
# every file here shares. One state per environment:
#   terraform apply -var environment=staging -var namespace=...
# The state holds the database password: keep it in an encrypted remote
# backend (the platform's), never in git.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
{{#queue}}
    kafka = {
      source  = "Mongey/kafka"
      version = "~> 0.7"
    }
{{/queue}}
  }
}

# The kubernetes provider reads its cluster from the environment
# (KUBE_CONFIG_PATH, KUBE_CTX, or the in-cluster service account).

variable "environment" {
  description = "The environment this state is for: staging or production."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "The environment is staging or production."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the service: the connection settings are written there."
  type        = string
}
{{/db}}
{{^db}}
{{#queue}}
# The infrastructure of {{service.name}}: the providers, and the settings
# every file here shares. One state per environment:
#   terraform apply -var environment=staging -var namespace=...
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
    kafka = {
      source  = "Mongey/kafka"
      version = "~> 0.7"
    }
  }
}

# The kubernetes provider reads its cluster from the environment
# (KUBE_CONFIG_PATH, KUBE_CTX, or the in-cluster service account).

variable "environment" {
  description = "The environment this state is for: staging or production."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "The environment is staging or production."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the service: the connection settings are written there."
  type        = string
}
{{/queue}}
{{/db}}
