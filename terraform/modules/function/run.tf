# `<function> serve`: the push endpoint Cloud Tasks delivers to.
resource "google_cloud_run_v2_service" "this" {
  project             = var.project_id
  location            = var.region
  name                = var.spec.name
  labels              = local.labels
  deletion_protection = var.deletion_protection

  # No unauthenticated access, checked twice: the default ingress keeps the
  # service off the public internet (Cloud Tasks in the same project counts
  # as internal), and the IAM check stays on, so only holders of
  # roles/run.invoker (the invoker service account) get through.
  ingress              = var.ingress
  invoker_iam_disabled = false

  template {
    service_account                  = google_service_account.runtime.email
    max_instance_request_concurrency = var.spec.request_concurrency
    timeout                          = "${local.request_timeout_seconds}s"
    labels                           = local.labels

    scaling {
      min_instance_count = var.spec.scaling.min_instances
      max_instance_count = var.spec.scaling.max_instances
    }

    dynamic "vpc_access" {
      for_each = var.vpc_egress == null ? [] : [var.vpc_egress]
      content {
        egress = vpc_access.value.egress
        network_interfaces {
          network    = vpc_access.value.network
          subnetwork = vpc_access.value.subnetwork
        }
      }
    }

    containers {
      image = var.image
      args  = ["serve"]

      resources {
        limits = local.resource_limits
        # CPU stays allocated between requests: the outbox relay in `serve`
        # sends dead letters and follow-up tasks after the push that wrote
        # them has been answered, and a throttled CPU would stall it.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = var.database_url_secret
            version = var.database_url_secret_version
          }
        }
      }

      dynamic "env" {
        for_each = var.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = local.request_timeout_seconds >= var.spec.dispatch_deadline_seconds
      error_message = "The Cloud Run request timeout must be at least the dispatch deadline."
    }
  }

  # The runtime account must be able to read the secrets before the first
  # revision starts, or the revision fails to deploy.
  depends_on = [
    google_secret_manager_secret_iam_member.runtime_reads_database_url,
    google_secret_manager_secret_iam_member.runtime_reads_secret_env,
  ]
}

# `<function> job`: the same binary as a batch run, for backfills and sweeps.
resource "google_cloud_run_v2_job" "this" {
  project             = var.project_id
  location            = var.region
  name                = "${var.spec.name}-job"
  labels              = local.labels
  deletion_protection = var.deletion_protection

  template {
    task_count  = var.spec.job.task_count
    parallelism = var.spec.job.parallelism
    labels      = local.labels

    template {
      service_account = google_service_account.runtime.email
      max_retries     = var.spec.job.max_retries
      timeout         = "${var.spec.job.timeout_seconds}s"

      dynamic "vpc_access" {
        for_each = var.vpc_egress == null ? [] : [var.vpc_egress]
        content {
          egress = vpc_access.value.egress
          network_interfaces {
            network    = vpc_access.value.network
            subnetwork = vpc_access.value.subnetwork
          }
        }
      }

      containers {
        image = var.image
        args  = ["job"]

        resources {
          limits = local.resource_limits
        }

        dynamic "env" {
          for_each = local.environment
          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = var.database_url_secret
              version = var.database_url_secret_version
            }
          }
        }

        dynamic "env" {
          for_each = var.secret_env
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.runtime_reads_database_url,
    google_secret_manager_secret_iam_member.runtime_reads_secret_env,
  ]
}
