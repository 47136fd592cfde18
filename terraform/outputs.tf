output "service_urls" {
  description = "URL of each function's Cloud Run service, as Cloud Run reports it."
  value       = { for name, f in module.function : name => f.service_url }
}

output "task_urls" {
  description = "URL each function's tasks are pushed to (POST, JSON body)."
  value       = { for name, f in module.function : name => f.task_url }
}

output "audiences" {
  description = "OIDC audience each function accepts; enqueuers must put exactly this in the token."
  value       = { for name, f in module.function : name => f.audience }
}

output "queue_ids" {
  description = "Full resource name of each function's Cloud Tasks queue."
  value       = { for name, f in module.function : name => f.queue_id }
}

output "dead_letter_topic_ids" {
  description = "Full resource name of each function's dead-letter topic."
  value       = { for name, f in module.function : name => f.dead_letter_topic_id }
}

output "dead_letter_subscription_ids" {
  description = "Full resource name of the subscription that keeps each function's dead letters for 7 days."
  value       = { for name, f in module.function : name => f.dead_letter_subscription_id }
}

output "job_names" {
  description = "Cloud Run job running `<function> job` for each function."
  value       = { for name, f in module.function : name => f.job_name }
}

output "invoker_service_accounts" {
  description = "Account whose OIDC token each function's tasks must carry."
  value       = { for name, f in module.function : name => f.invoker_service_account }
}

output "enqueuer_service_accounts" {
  description = "Account an application uses to enqueue each function's tasks."
  value       = { for name, f in module.function : name => f.enqueuer_service_account }
}

output "runtime_service_accounts" {
  description = "Account each function's service and job run as."
  value       = { for name, f in module.function : name => f.runtime_service_account }
}

output "migrate_job_name" {
  description = "Cloud Run job that runs `tasklane migrate`."
  value       = google_cloud_run_v2_job.migrate.name
}
