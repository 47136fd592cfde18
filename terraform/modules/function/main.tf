# One tasklane function: its Cloud Tasks queue, its dead-letter topic and
# subscription, the Cloud Run service that Cloud Tasks pushes to, the Cloud Run
# job that runs the same binary in batch, and the identities that tie them.
#
# Every setting that describes the function comes from var.spec, which the
# root module reads from functions.auto.tfvars.json, which `make
# terraform-vars` writes from the function's own `spec()`.

locals {
  queue_id = "projects/${var.project_id}/locations/${var.region}/queues/${var.spec.queue}"

  # Cloud Run takes the secret as given (a bare ID means this project); the
  # IAM grant needs its full name.
  database_url_secret_id = (
    startswith(var.database_url_secret, "projects/")
    ? var.database_url_secret
    : "projects/${var.project_id}/secrets/${var.database_url_secret}"
  )

  secret_env_ids = {
    for name, secret in var.secret_env : name => (
      startswith(secret, "projects/") ? secret : "projects/${var.project_id}/secrets/${secret}"
    )
  }

  # The deterministic URL is known before the service exists, so the service
  # can carry its own audience in its environment without a dependency cycle.
  service_url = "https://${var.spec.name}-${var.project_number}.${var.region}.run.app"
  audience    = coalesce(var.audience, local.service_url)

  # Cloud Run answers with 504 once a request outlives the service timeout.
  # Ending the request when the lease ends (deadline + margin) keeps an attempt
  # from running on after another one may have claimed the task.
  request_timeout_seconds = var.spec.dispatch_deadline_seconds + var.spec.lease_margin_seconds

  # Where the outbox relay sends follow-up tasks, in the variables it reads:
  # TASKLANE_TARGET_{URL,QUEUE,AUDIENCE}_<FUNCTION>, the function's name in
  # upper case with every other character turned into "_".
  target_env = merge([
    for name, target in var.targets : {
      "TASKLANE_TARGET_URL_${upper(replace(name, "/[^A-Za-z0-9]/", "_"))}"      = target.url
      "TASKLANE_TARGET_QUEUE_${upper(replace(name, "/[^A-Za-z0-9]/", "_"))}"    = target.queue
      "TASKLANE_TARGET_AUDIENCE_${upper(replace(name, "/[^A-Za-z0-9]/", "_"))}" = target.audience
    }
  ]...)

  # The account the relay asks Cloud Tasks to sign follow-up tasks as.
  invoker_env = var.follow_up_invoker == null ? {} : {
    TASKLANE_INVOKER_SA = var.follow_up_invoker
  }

  # Settings the binary reads at start; the managed names win over extra_env.
  environment = merge(var.extra_env, local.target_env, local.invoker_env, {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    TASKLANE_LOCATION     = var.region
    TASKLANE_QUEUE        = local.queue_id
    TASKLANE_AUDIENCE     = local.audience
    TASKLANE_INVOKERS     = google_service_account.invoker.email
    TASKLANE_MAX_ATTEMPTS = tostring(var.spec.retry.max_attempts)
    TASKLANE_DLQ_TOPIC    = google_pubsub_topic.dead_letters.id
  })

  resource_limits = {
    cpu    = var.spec.scaling.cpu
    memory = var.spec.scaling.memory
  }

  labels = merge(var.labels, { "tasklane-function" = var.spec.name })
}

# The identity the service and the job run as.
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.spec.name}-run"
  display_name = "tasklane ${var.spec.name}: runtime"
  description  = "Runs the ${var.spec.name} Cloud Run service and job."
}

# The identity in the OIDC token Cloud Tasks attaches to every push. It may
# invoke the service and nothing else.
resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.spec.name}-invoker"
  display_name = "tasklane ${var.spec.name}: task invoker"
  description  = "Signs the OIDC tokens of ${var.spec.name} tasks."
}

# The identity an application uses to put tasks on this function's queue.
resource "google_service_account" "enqueuer" {
  project      = var.project_id
  account_id   = "${var.spec.name}-enqueuer"
  display_name = "tasklane ${var.spec.name}: enqueuer"
  description  = "Creates ${var.spec.name} tasks on behalf of an application."
}
