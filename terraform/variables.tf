# Inputs of the tasklane deployment. `functions` is generated (see
# functions.auto.tfvars.json); everything else is yours to set in
# terraform.tfvars (copy terraform.tfvars.example).

variable "project_id" {
  description = "Google Cloud project to deploy into (the project ID, not its number or display name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the queues, services and jobs, e.g. europe-west1. Cloud Tasks, Cloud Run and Artifact Registry must all offer it."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1, not a zone."
  }
}

variable "image_repository" {
  description = "Artifact Registry repository holding the images, e.g. europe-west1-docker.pkg.dev/my-project/tasklane. Each function's image is <repository>/<function>:<image_tag>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$", var.image_repository))
    error_message = "image_repository must look like REGION-docker.pkg.dev/PROJECT/REPOSITORY, with no tag and no trailing slash."
  }
}

variable "image_tag" {
  description = "Tag of the images to deploy, e.g. the git commit they were built from. Change it to roll out a new build."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a Docker tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'."
  }
}

variable "database_url_secret" {
  description = "Secret Manager secret whose value is the Postgres DATABASE_URL: a secret ID in project_id, or projects/PROJECT/secrets/ID. Create it before applying; Terraform never sees its value."
  type        = string

  validation {
    condition     = can(regex("^(projects/[a-z0-9-]+/secrets/)?[A-Za-z0-9_-]{1,255}$", var.database_url_secret))
    error_message = "database_url_secret must be a secret ID (letters, digits, '_' or '-') or projects/PROJECT/secrets/ID."
  }
}

variable "database_url_secret_version" {
  description = "Version of the DATABASE_URL secret to read: \"latest\" or a version number. Pin a number to make a password rotation an explicit deploy."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^(latest|[1-9][0-9]*)$", var.database_url_secret_version))
    error_message = "database_url_secret_version must be \"latest\" or a positive version number."
  }
}

variable "invoker_audiences" {
  description = "Per-function OIDC audience, keyed by function name. A function left out uses its service's deterministic URL, https://NAME-PROJECT_NUMBER.REGION.run.app."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for a in values(var.invoker_audiences) : can(regex("^https://[^\\s]+$", a))])
    error_message = "Every audience in invoker_audiences must be an https:// URL."
  }
}

variable "follow_up_functions" {
  description = "Functions that receive follow-up tasks from other functions through the outbox (asr-postprocess asks summarize to run). Any function's relay may send any outbox row, so every runtime account may create these functions' tasks."
  type        = list(string)
  default     = ["summarize"]
}

variable "enqueuer_members" {
  description = "Principals (e.g. \"serviceAccount:backend@PROJECT.iam.gserviceaccount.com\") that may impersonate every function's enqueuer account to create tasks."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.enqueuer_members : can(regex("^(user|serviceAccount|group|principal|principalSet):.+$", m))])
    error_message = "Every entry in enqueuer_members must be an IAM member such as serviceAccount:EMAIL, user:EMAIL or group:EMAIL."
  }
}

variable "ingress" {
  description = "Cloud Run ingress of the services. The default admits Cloud Tasks from the same project and nothing from the internet."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  validation {
    condition = contains([
      "INGRESS_TRAFFIC_INTERNAL_ONLY",
      "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
      "INGRESS_TRAFFIC_ALL",
    ], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER or INGRESS_TRAFFIC_ALL."
  }
}

variable "task_log_sampling_ratio" {
  description = "Fraction (0 to 1) of task dispatches Cloud Tasks logs to Cloud Logging. 1 logs every attempt and its outcome."
  type        = number
  default     = 1

  validation {
    condition     = var.task_log_sampling_ratio >= 0 && var.task_log_sampling_ratio <= 1
    error_message = "task_log_sampling_ratio must be between 0 and 1."
  }
}

variable "deletion_protection" {
  description = "Whether Terraform refuses to delete the Cloud Run services and jobs (the provider's own default is true). Set false, apply, then destroy."
  type        = bool
  default     = true
}

variable "vpc_egress" {
  description = "Direct VPC egress for the services and jobs, needed when Postgres has only a private address (e.g. Cloud SQL with private IP). null: no VPC."
  type = object({
    network    = string
    subnetwork = string
    egress     = optional(string, "PRIVATE_RANGES_ONLY")
  })
  default = null

  validation {
    condition     = var.vpc_egress == null || contains(["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"], try(var.vpc_egress.egress, ""))
    error_message = "vpc_egress.egress must be PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  }
}

# The environment validations below repeat the names the module sets
# (modules/function/main.tf, local.environment): validation may only look at
# its own variable before Terraform 1.9.
variable "extra_env" {
  description = "Further environment variables for every service and job, e.g. { RUST_LOG = \"info\", TASKLANE_DB_POOL_SIZE = \"8\" }. Names that tasklane manages cannot be set here."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.extra_env) :
      can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))
      && !startswith(k, "TASKLANE_TARGET_")
      && !contains([
        "DATABASE_URL", "GOOGLE_CLOUD_PROJECT", "PORT", "TASKLANE_LOCATION", "TASKLANE_QUEUE",
        "TASKLANE_AUDIENCE", "TASKLANE_INVOKERS", "TASKLANE_MAX_ATTEMPTS", "TASKLANE_DLQ_TOPIC",
        "TASKLANE_INVOKER_SA",
      ], k)
    ])
    error_message = "extra_env names must be identifiers and must not be one tasklane or Cloud Run sets (DATABASE_URL, GOOGLE_CLOUD_PROJECT, PORT, TASKLANE_AUDIENCE, ...)."
  }
}

variable "function_env" {
  description = "Environment variables for one function's service and job, keyed by function name, e.g. { summarize = { TASKLANE_AI_PROVIDER = \"gemini\" } }. Same naming rules as extra_env, and they win over it."
  type        = map(map(string))
  default     = {}

  validation {
    condition = alltrue(flatten([
      for env in values(var.function_env) : [
        for k in keys(env) :
        can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))
        && !startswith(k, "TASKLANE_TARGET_")
        && !contains([
          "DATABASE_URL", "GOOGLE_CLOUD_PROJECT", "PORT", "TASKLANE_LOCATION", "TASKLANE_QUEUE",
          "TASKLANE_AUDIENCE", "TASKLANE_INVOKERS", "TASKLANE_MAX_ATTEMPTS", "TASKLANE_DLQ_TOPIC",
          "TASKLANE_INVOKER_SA",
        ], k)
      ]
    ]))
    error_message = "function_env names must be identifiers and must not be one tasklane or Cloud Run sets (DATABASE_URL, GOOGLE_CLOUD_PROJECT, PORT, TASKLANE_AUDIENCE, ...)."
  }
}

variable "function_secret_env" {
  description = "Environment variables read from Secret Manager (latest version), keyed by function name then variable name, e.g. { summarize = { GEMINI_API_KEY = \"gemini-api-key\" } }. The runtime account gets read access to each secret."
  type        = map(map(string))
  default     = {}

  validation {
    condition = alltrue(flatten([
      for env in values(var.function_secret_env) : [
        for k, secret in env :
        can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))
        && !startswith(k, "TASKLANE_TARGET_")
        && !contains([
          "DATABASE_URL", "GOOGLE_CLOUD_PROJECT", "PORT", "TASKLANE_LOCATION", "TASKLANE_QUEUE",
          "TASKLANE_AUDIENCE", "TASKLANE_INVOKERS", "TASKLANE_MAX_ATTEMPTS", "TASKLANE_DLQ_TOPIC",
          "TASKLANE_INVOKER_SA",
        ], k)
        && can(regex("^(projects/[a-z0-9-]+/secrets/)?[A-Za-z0-9_-]{1,255}$", secret))
      ]
    ]))
    error_message = "function_secret_env: names must be identifiers not set by tasklane, and each value a secret ID or projects/PROJECT/secrets/ID."
  }
}

variable "runtime_project_roles" {
  description = "Project-level roles for a function's runtime account, keyed by function name, e.g. { summarize = [\"roles/aiplatform.user\"] } to call Gemini on Vertex AI."
  type        = map(list(string))
  default     = {}

  validation {
    condition = alltrue(flatten([
      for roles in values(var.runtime_project_roles) : [
        for r in roles : can(regex("^(roles|projects/[a-z0-9-]+/roles|organizations/[0-9]+/roles)/[A-Za-z0-9_.]+$", r))
      ]
    ]))
    error_message = "runtime_project_roles entries must be role names such as roles/aiplatform.user."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes them."
  type        = map(string)
  default     = {}
}

# Generated: do not edit by hand. `make terraform-vars` writes it from each
# function's `spec()`, and tests/tests/terraform.rs fails when it drifts.
variable "functions" {
  description = "Every function's FunctionSpec (shared/src/spec.rs), keyed by function name. Set by functions.auto.tfvars.json."
  type = map(object({
    name  = string
    queue = string
    rate_limits = object({
      max_dispatches_per_second = number
      max_concurrent_dispatches = number
    })
    retry = object({
      max_attempts               = number
      min_backoff_seconds        = number
      max_backoff_seconds        = number
      max_doublings              = number
      max_retry_duration_seconds = number
    })
    dispatch_deadline_seconds = number
    lease_margin_seconds      = number
    request_concurrency       = number
    scaling = object({
      min_instances = number
      max_instances = number
      cpu           = string
      memory        = string
    })
    job = object({
      task_count      = number
      parallelism     = number
      max_retries     = number
      timeout_seconds = number
    })
    dead_letter_topic        = string
    dead_letter_subscription = string
  }))

  validation {
    condition     = length(var.functions) > 0
    error_message = "functions is empty: run `make terraform-vars` to write functions.auto.tfvars.json."
  }

  validation {
    condition     = alltrue([for k, f in var.functions : f.name == k])
    error_message = "Each key of functions must equal its spec's name."
  }

  # The name becomes the service name and, with a suffix of up to 9
  # characters, three service account IDs, which allow 6 to 30 characters.
  validation {
    condition     = alltrue([for k in keys(var.functions) : can(regex("^[a-z][a-z0-9-]{0,19}[a-z0-9]$", k))])
    error_message = "Function names must be 2 to 21 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : can(regex("^[A-Za-z0-9-]{1,100}$", f.queue))])
    error_message = "Queue names must be 1 to 100 letters, digits or hyphens."
  }

  validation {
    condition = alltrue([
      for f in values(var.functions) :
      f.rate_limits.max_dispatches_per_second > 0 && f.rate_limits.max_dispatches_per_second <= 500
      && f.rate_limits.max_concurrent_dispatches >= 1 && f.rate_limits.max_concurrent_dispatches <= 5000
    ])
    error_message = "rate_limits: max_dispatches_per_second must be in (0, 500] and max_concurrent_dispatches in [1, 5000]."
  }

  validation {
    condition = alltrue([
      for f in values(var.functions) :
      f.retry.max_attempts >= -1 && f.retry.max_attempts != 0
      && f.retry.min_backoff_seconds >= 0
      && f.retry.min_backoff_seconds <= f.retry.max_backoff_seconds
      && f.retry.max_doublings >= 0
      && f.retry.max_retry_duration_seconds >= 0
    ])
    error_message = "retry: max_attempts must be -1 (unlimited) or at least 1, backoffs non-negative with min_backoff_seconds <= max_backoff_seconds, max_doublings and max_retry_duration_seconds non-negative."
  }

  validation {
    condition = alltrue([
      for f in values(var.functions) :
      f.dispatch_deadline_seconds >= 15 && f.dispatch_deadline_seconds <= 1800
      && f.lease_margin_seconds >= 0
      && f.dispatch_deadline_seconds + f.lease_margin_seconds <= 3600
    ])
    error_message = "dispatch_deadline_seconds must be 15 to 1800 (Cloud Tasks' limits) and, with lease_margin_seconds, at most 3600 (Cloud Run's longest request timeout)."
  }

  validation {
    condition = alltrue([
      for f in values(var.functions) :
      f.request_concurrency >= 1 && f.request_concurrency <= 1000
      && f.scaling.min_instances >= 0
      && f.scaling.max_instances >= 1
      && f.scaling.min_instances <= f.scaling.max_instances
      && can(regex("^([0-9]+(\\.[0-9]+)?|[0-9]+m)$", f.scaling.cpu))
      && can(regex("^[0-9]+(Mi|Gi)$", f.scaling.memory))
    ])
    error_message = "request_concurrency must be 1 to 1000; scaling needs 0 <= min_instances <= max_instances, max_instances >= 1, cpu like \"1\" or \"500m\" and memory like \"512Mi\" or \"2Gi\"."
  }

  validation {
    condition = alltrue([
      for f in values(var.functions) :
      f.job.task_count >= 1
      && f.job.parallelism >= 0 && f.job.parallelism <= f.job.task_count
      && f.job.max_retries >= 0
      && f.job.timeout_seconds >= 1 && f.job.timeout_seconds <= 604800
    ])
    error_message = "job: task_count must be at least 1, parallelism between 0 and task_count, max_retries non-negative and timeout_seconds 1 to 604800 (7 days)."
  }

  validation {
    condition = alltrue(flatten([
      for f in values(var.functions) : [
        for n in [f.dead_letter_topic, f.dead_letter_subscription] :
        can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", n)) && !startswith(lower(n), "goog")
      ]
    ]))
    error_message = "dead_letter_topic and dead_letter_subscription must be Pub/Sub names: 3 to 255 characters, starting with a letter, not starting with \"goog\"."
  }
}
