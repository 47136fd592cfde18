# Who may do what. Every grant names one identity and one resource, except
# the project roles a deployment asks for explicitly.

# Cloud Tasks pushes with a token for the invoker account; Cloud Run lets the
# request in only if that account may invoke the service.
resource "google_cloud_run_v2_service_iam_member" "invoker_runs_service" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = google_service_account.invoker.member
}

locals {
  # Identities that create tasks on this queue. The runtime account is one of
  # them because the outbox relay runs inside the function and may claim any
  # row, this queue's follow-ups included; other functions' runtime accounts
  # are granted in the root module.
  enqueuers = {
    enqueuer = google_service_account.enqueuer.member
    runtime  = google_service_account.runtime.member
  }
}

resource "google_cloud_tasks_queue_iam_member" "enqueuers_create_tasks" {
  for_each = local.enqueuers

  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.this.name
  role     = "roles/cloudtasks.enqueuer"
  member   = each.value
}

# A task that carries an OIDC token for the invoker account can only be
# created by someone allowed to act as that account.
resource "google_service_account_iam_member" "enqueuers_act_as_invoker" {
  for_each = local.enqueuers

  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# Lets the application's own identity mint tokens as the enqueuer account.
resource "google_service_account_iam_member" "application_impersonates_enqueuer" {
  for_each = toset(var.enqueuer_members)

  service_account_id = google_service_account.enqueuer.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value
}

resource "google_pubsub_topic_iam_member" "runtime_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letters.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.runtime.member
}

# Database access: DATABASE_URL comes from Secret Manager (see docs/deploy.md
# for why this rather than the Cloud SQL connector).
resource "google_secret_manager_secret_iam_member" "runtime_reads_database_url" {
  secret_id = local.database_url_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_secret_env" {
  for_each = local.secret_env_ids

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

# Traces go to Cloud Trace (TASKLANE_TRACE_EXPORTER defaults to gcloud on
# Cloud Run), which has no resource narrower than the project.
resource "google_project_iam_member" "runtime_writes_traces" {
  project = var.project_id
  role    = "roles/cloudtrace.agent"
  member  = google_service_account.runtime.member
}

# Other project-wide grants only as asked for (var.project_roles): Vertex
# AI, for one, has no per-model IAM.
resource "google_project_iam_member" "runtime_project_roles" {
  for_each = toset(var.project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.runtime.member
}
