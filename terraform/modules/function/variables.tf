# Inputs of one function's stack. The root module validates the settings that
# come from the function's crate (see ../../variables.tf); this module only
# states their shape and the few rules that tie two fields together.

variable "project_id" {
  description = "Google Cloud project that holds every resource of the function."
  type        = string
}

variable "project_number" {
  description = "Number of var.project_id; builds the service's deterministic run.app URL."
  type        = string
}

variable "region" {
  description = "Region of the queue, the Cloud Run service and the Cloud Run job."
  type        = string
}

variable "spec" {
  description = "The function's FunctionSpec, exactly as `<function> spec` prints it."
  type = object({
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
  })

  validation {
    # Cloud Run cuts a request at the service timeout; a timeout shorter than
    # the dispatch deadline would kill attempts that Cloud Tasks still waits for.
    condition     = var.spec.dispatch_deadline_seconds + var.spec.lease_margin_seconds <= 3600
    error_message = "dispatch_deadline_seconds + lease_margin_seconds must not exceed 3600, Cloud Run's longest request timeout."
  }
}

variable "image" {
  description = "Container image of the function, built from the repository's Dockerfile with FUNCTION set to spec.name."
  type        = string
}

variable "audience" {
  description = "Audience of the OIDC tokens Cloud Tasks attaches; null means the service's deterministic run.app URL."
  type        = string
  default     = null
}

variable "database_url_secret" {
  description = "Secret Manager secret holding DATABASE_URL: an ID in project_id, or projects/<project>/secrets/<id>."
  type        = string
}

variable "database_url_secret_version" {
  description = "Version of the DATABASE_URL secret the service and job read."
  type        = string
  default     = "latest"
}

variable "ingress" {
  description = "Cloud Run ingress setting of the service."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"
}

variable "task_log_sampling_ratio" {
  description = "Fraction of task dispatches Cloud Tasks writes to Cloud Logging."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Whether Terraform refuses to delete the Cloud Run service and job."
  type        = bool
  default     = true
}

variable "targets" {
  description = "Functions that receive follow-up tasks through the outbox, keyed by name. Any function's relay may send any outbox row, so every function gets all of them."
  type = map(object({
    queue    = string
    url      = string
    audience = string
  }))
  default = {}
}

variable "follow_up_invoker" {
  description = "Email of the account follow-up tasks are signed as (TASKLANE_INVOKER_SA); null when there are no targets."
  type        = string
  default     = null
}

variable "extra_env" {
  description = "Further environment variables for the service and the job (RUST_LOG, for example)."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager: name => secret (an ID in project_id, or projects/<project>/secrets/<id>); the latest version is read."
  type        = map(string)
  default     = {}
}

variable "project_roles" {
  description = "Project-level roles for the runtime account, e.g. roles/aiplatform.user to call Gemini on Vertex AI."
  type        = list(string)
  default     = []
}

variable "vpc_egress" {
  description = "Direct VPC egress for reaching a database on a private address; null sends traffic straight out."
  type = object({
    network    = string
    subnetwork = string
    egress     = optional(string, "PRIVATE_RANGES_ONLY")
  })
  default = null
}

variable "enqueuer_members" {
  description = "Principals allowed to impersonate the enqueuer service account (your application's identity)."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels put on the resources that take them."
  type        = map(string)
  default     = {}
}
