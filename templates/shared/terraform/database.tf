{{#db}}
# The service's database: managed PostgreSQL (Amazon RDS) with automated
# daily backups kept 7 days (point-in-time recovery within them), storage
# encryption, deletion protection and a final snapshot, and its connection
# URL written to the Kubernetes Secret {{service.name}}-db (key "url"), which
# k8s/ passes to the code as DATABASE_URL. The password is generated here
# and never appears in git; the code runs its migrations at start-up, inside
# the 300 s start-up budget of the manifests.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      "paved.dev/service"     = "{{service.name}}"
      "paved.dev/owner"       = "{{owner}}"
      "paved.dev/environment" = var.environment
    }
  }
}

variable "aws_region" {
  description = "AWS region of the database."
  type        = string
  default     = "eu-central-1"
}

variable "db_subnet_group_name" {
  description = "DB subnet group (private subnets) the platform provides for the cluster's VPC."
  type        = string
  default     = "paved-private"
}

variable "db_security_group_ids" {
  description = "Security groups that let the cluster's nodes reach PostgreSQL on 5432."
  type        = list(string)
  default     = []
}

variable "db_instance_class" {
  description = "Instance size; grow it here, reviewed like code."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage" {
  description = "Initial storage in GiB; it grows by itself up to 5 times this."
  type        = number
  default     = 20
}

locals {
  db_identifier = "${var.environment}-{{service.name}}"
}

resource "random_password" "db" {
  length = 32
  # letters and digits only: the password goes into a URL unescaped
  special = false
}

resource "aws_db_instance" "main" {
  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = "16"
  instance_class = var.db_instance_class

  db_name  = "{{service.ident}}"
  username = "{{service.ident}}"
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_allocated_storage * 5
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = var.db_subnet_group_name
  vpc_security_group_ids = var.db_security_group_ids
  publicly_accessible    = false
  multi_az               = var.environment == "production"

  # automated backups: a daily snapshot in the backup window plus the
  # transaction logs, kept 7 days (35 in production)
  backup_retention_period = var.environment == "production" ? 35 : 7
  backup_window           = "02:00-03:00"
  maintenance_window      = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot   = true

  # a destroy must be deliberate: switch deletion_protection off first,
  # and even then a final snapshot is taken
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.db_identifier}-final"

  # minor versions (security fixes) in the maintenance window
  auto_minor_version_upgrade = true
  apply_immediately          = false
}

# The secret wiring: the only place the password leaves terraform.
resource "kubernetes_secret_v1" "db" {
  metadata {
    name      = "{{service.name}}-db"
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/name" = "{{service.name}}"
      "paved.dev/owner"        = "{{owner}}"
    }
  }

  type = "Opaque"

  data = {
    url = "postgres://${aws_db_instance.main.username}:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${aws_db_instance.main.db_name}?sslmode=require"
  }
}
{{/db}}
