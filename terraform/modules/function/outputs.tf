output "service_name" {
  description = "Name of the Cloud Run service."
  value       = google_cloud_run_v2_service.this.name
}

output "service_url" {
  description = "URL Cloud Run reports for the service."
  value       = google_cloud_run_v2_service.this.uri
}

output "task_url" {
  description = "URL tasks are pushed to: the deterministic service URL plus /tasks/<name>."
  value       = "${local.service_url}/tasks/${var.spec.name}"
}

output "audience" {
  description = "Audience enqueuers put in the OIDC token; the service accepts no other."
  value       = local.audience
}

output "job_name" {
  description = "Name of the Cloud Run job running `<function> job`."
  value       = google_cloud_run_v2_job.this.name
}

output "queue_id" {
  description = "Full resource name of the Cloud Tasks queue."
  value       = google_cloud_tasks_queue.this.id
}

output "queue_name" {
  description = "Short name of the Cloud Tasks queue."
  value       = google_cloud_tasks_queue.this.name
}

output "dead_letter_topic_id" {
  description = "Full resource name of the dead-letter topic."
  value       = google_pubsub_topic.dead_letters.id
}

output "dead_letter_subscription_id" {
  description = "Full resource name of the subscription that keeps dead letters."
  value       = google_pubsub_subscription.dead_letters.id
}

output "runtime_service_account" {
  description = "Email of the account the service and job run as."
  value       = google_service_account.runtime.email
}

output "runtime_member" {
  description = "IAM member string of the runtime account."
  value       = google_service_account.runtime.member
}

output "invoker_service_account" {
  description = "Email of the account in the tasks' OIDC tokens."
  value       = google_service_account.invoker.email
}

output "invoker_service_account_name" {
  description = "Full resource name of the invoker account, for IAM grants on it."
  value       = google_service_account.invoker.name
}

output "enqueuer_service_account" {
  description = "Email of the account applications enqueue as."
  value       = google_service_account.enqueuer.email
}
