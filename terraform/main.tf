# tasklane on Google Cloud: one module instance per function in
# var.functions, the grants the shared outbox needs across functions, and a
# Cloud Run job that applies the database migrations.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Full name of the DATABASE_URL secret, for the IAM grant; Cloud Run gets
  # var.database_url_secret as given.
  database_url_secret_id = (
    startswith(var.database_url_secret, "projects/")
    ? var.database_url_secret
    : "projects/${var.project_id}/secrets/${var.database_url_secret}"
  )

  images = {
    for name in keys(var.functions) : name => "${var.image_repository}/${name}:${var.image_tag}"
  }

  # Where each function is reached, derived from names alone rather than read
  # from module outputs: a module instance that reads another instance of the
  # same module call forms a cycle. The `wiring` check below compares these
  # with what the modules report once they exist.
  endpoints = {
    for name, spec in var.functions : name => {
      queue = spec.queue
      url   = "https://${name}-${data.google_project.this.number}.${var.region}.run.app/tasks/${name}"
      audience = lookup(
        var.invoker_audiences,
        name,
        "https://${name}-${data.google_project.this.number}.${var.region}.run.app",
      )
      service_account_email = "${name}-invoker@${var.project_id}.iam.gserviceaccount.com"
    }
  }

  # The outbox is one table and any function's relay may send any row, so
  # every function learns every follow-up target and may create its tasks.
  # Unknown names are dropped here so that settings_check, not an index
  # error, reports them.
  follow_up_targets = {
    for name in var.follow_up_functions : name => {
      queue    = local.endpoints[name].queue
      url      = local.endpoints[name].url
      audience = local.endpoints[name].audience
    }
    if contains(keys(var.functions), name)
  }
  follow_up_invoker = (
    length(local.follow_up_targets) == 1
    ? local.endpoints[one(keys(local.follow_up_targets))].service_account_email
    : null
  )

  # (sender, target) pairs across functions; a function's grants on its own
  # queue come from its module.
  follow_up_grants = {
    for pair in setproduct(keys(var.functions), keys(local.follow_up_targets)) :
    "${pair[0]}->${pair[1]}" => { sender = pair[0], target = pair[1] }
    if pair[0] != pair[1]
  }

  # (publisher, owner) pairs: any relay may publish any function's dead letters.
  dead_letter_grants = {
    for pair in setproduct(keys(var.functions), keys(var.functions)) :
    "${pair[0]}->${pair[1]}" => { publisher = pair[0], owner = pair[1] }
    if pair[0] != pair[1]
  }

  # Any function image carries the `tasklane` ops binary; take the first.
  migrate_image = local.images[sort(keys(var.functions))[0]]
}

# Rules that span several variables, which variable validation cannot see
# before Terraform 1.9.
resource "terraform_data" "settings_check" {
  input = keys(var.functions)

  lifecycle {
    precondition {
      condition     = alltrue([for name in var.follow_up_functions : contains(keys(var.functions), name)])
      error_message = "follow_up_functions names a function that is not in functions: ${jsonencode(var.follow_up_functions)}."
    }
    precondition {
      condition     = length(distinct(var.follow_up_functions)) <= 1
      error_message = "The outbox relay signs every follow-up task as one account (TASKLANE_INVOKER_SA), so only one function can receive follow-up tasks: ${jsonencode(var.follow_up_functions)}."
    }
    precondition {
      condition = alltrue([
        for name in concat(
          keys(var.invoker_audiences),
          keys(var.function_env),
          keys(var.function_secret_env),
          keys(var.runtime_project_roles),
        ) : contains(keys(var.functions), name)
      ])
      error_message = "invoker_audiences, function_env, function_secret_env or runtime_project_roles has a key that is not a function name."
    }
    precondition {
      condition = alltrue([
        for name, secrets in var.function_secret_env : length(setintersection(
          keys(secrets),
          keys(merge(var.extra_env, lookup(var.function_env, name, {}))),
        )) == 0
      ])
      error_message = "A variable is set both as plain text (extra_env, function_env) and from a secret (function_secret_env)."
    }
    precondition {
      condition = (
        length(distinct([for f in values(var.functions) : f.queue])) == length(var.functions)
        && length(distinct([for f in values(var.functions) : f.dead_letter_topic])) == length(var.functions)
        && length(distinct([for f in values(var.functions) : f.dead_letter_subscription])) == length(var.functions)
      )
      error_message = "Two functions share a queue, dead-letter topic or dead-letter subscription name."
    }
  }
}

module "function" {
  source   = "./modules/function"
  for_each = var.functions

  spec           = each.value
  project_id     = var.project_id
  project_number = data.google_project.this.number
  region         = var.region
  image          = local.images[each.key]
  audience       = lookup(var.invoker_audiences, each.key, null)

  database_url_secret         = var.database_url_secret
  database_url_secret_version = var.database_url_secret_version

  targets           = local.follow_up_targets
  follow_up_invoker = local.follow_up_invoker

  extra_env     = merge(var.extra_env, lookup(var.function_env, each.key, {}))
  secret_env    = lookup(var.function_secret_env, each.key, {})
  project_roles = lookup(var.runtime_project_roles, each.key, [])

  ingress                 = var.ingress
  task_log_sampling_ratio = var.task_log_sampling_ratio
  deletion_protection     = var.deletion_protection
  vpc_egress              = var.vpc_egress
  enqueuer_members        = var.enqueuer_members
  labels                  = var.labels
}

# A follow-up task (asr-postprocess asking for summarize) is created by
# whichever function's relay claims the outbox row, on the target's queue,
# carrying a token for the target's invoker account.
resource "google_cloud_tasks_queue_iam_member" "sender_creates_follow_ups" {
  for_each = local.follow_up_grants

  project  = var.project_id
  location = var.region
  name     = module.function[each.value.target].queue_name
  role     = "roles/cloudtasks.enqueuer"
  member   = module.function[each.value.sender].runtime_member
}

resource "google_service_account_iam_member" "sender_acts_as_target_invoker" {
  for_each = local.follow_up_grants

  service_account_id = module.function[each.value.target].invoker_service_account_name
  role               = "roles/iam.serviceAccountUser"
  member             = module.function[each.value.sender].runtime_member
}

resource "google_pubsub_topic_iam_member" "publisher_sends_dead_letters" {
  for_each = local.dead_letter_grants

  project = var.project_id
  topic   = module.function[each.value.owner].dead_letter_topic_id
  role    = "roles/pubsub.publisher"
  member  = module.function[each.value.publisher].runtime_member
}

# Fails the apply if the addresses handed to the relays ever stop matching
# the resources the module creates.
resource "terraform_data" "wiring" {
  for_each = var.functions

  input = module.function[each.key].queue_id

  lifecycle {
    postcondition {
      condition = (
        module.function[each.key].queue_name == local.endpoints[each.key].queue
        && module.function[each.key].invoker_service_account == local.endpoints[each.key].service_account_email
        && module.function[each.key].task_url == local.endpoints[each.key].url
        && module.function[each.key].audience == local.endpoints[each.key].audience
      )
      error_message = "The address of ${each.key} given to the relays differs from its resources; fix local.endpoints."
    }
  }
}

# `tasklane migrate`, run on demand: gcloud run jobs execute tasklane-migrate.
resource "google_service_account" "migrate" {
  project      = var.project_id
  account_id   = "tasklane-migrate"
  display_name = "tasklane: database migrations"
  description  = "Runs the tasklane-migrate Cloud Run job."
}

resource "google_secret_manager_secret_iam_member" "migrate_reads_database_url" {
  secret_id = local.database_url_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrate.member
}

resource "google_cloud_run_v2_job" "migrate" {
  project             = var.project_id
  location            = var.region
  name                = "tasklane-migrate"
  labels              = var.labels
  deletion_protection = var.deletion_protection

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrate.email
      timeout         = "600s"
      # A failed migration wants a person, not a blind second try.
      max_retries = 0

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
        image   = local.migrate_image
        command = ["/usr/local/bin/tasklane"]
        args    = ["migrate"]

        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = var.database_url_secret
              version = var.database_url_secret_version
            }
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.migrate_reads_database_url]
}
