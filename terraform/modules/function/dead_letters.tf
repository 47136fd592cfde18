# The function publishes a task here when its last attempt fails for good.
# Cloud Tasks has no dead-letter queue of its own: once it gives up, the task
# is gone, so the function records the failure itself.
resource "google_pubsub_topic" "dead_letters" {
  project = var.project_id
  name    = var.spec.dead_letter_topic
  labels  = local.labels
}

# A topic keeps nothing by itself: a message published while no subscription
# exists is dropped. This subscription holds dead letters for a week.
resource "google_pubsub_subscription" "dead_letters" {
  project = var.project_id
  name    = var.spec.dead_letter_subscription
  topic   = google_pubsub_topic.dead_letters.id
  labels  = local.labels

  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  # Without this, a subscription nobody pulls from expires after 31 days and
  # takes its unread dead letters with it.
  expiration_policy {
    ttl = ""
  }
}
