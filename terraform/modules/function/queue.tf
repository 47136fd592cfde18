# The queue carries the function's delivery policy. Cloud Tasks retries on any
# non-2xx answer; the rate limits and backoff below are the ones the function
# assumes when it decides whether an attempt is its last.
resource "google_cloud_tasks_queue" "this" {
  project  = var.project_id
  location = var.region
  name     = var.spec.queue

  rate_limits {
    max_dispatches_per_second = var.spec.rate_limits.max_dispatches_per_second
    max_concurrent_dispatches = var.spec.rate_limits.max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = var.spec.retry.max_attempts
    min_backoff        = "${var.spec.retry.min_backoff_seconds}s"
    max_backoff        = "${var.spec.retry.max_backoff_seconds}s"
    max_doublings      = var.spec.retry.max_doublings
    max_retry_duration = "${var.spec.retry.max_retry_duration_seconds}s"
  }

  stackdriver_logging_config {
    sampling_ratio = var.task_log_sampling_ratio
  }
}
