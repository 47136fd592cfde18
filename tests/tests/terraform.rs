//! The Terraform in `terraform/` deploys what the function crates declare.
//!
//! These tests read the HCL itself (no provider, no network): the generated
//! `functions.auto.tfvars.json` must equal every function's `spec()`, the
//! root module must hand each spec to one instance of `modules/function`, and
//! that module must build the queue, dead letters, service, job and IAM from
//! the spec rather than from numbers of its own. `terraform validate` needs
//! the provider registry and is left to docs/deploy.md.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression};
use serde_json::Value;
use tasklane::spec::FunctionSpec;

/// Every function Terraform deploys, as its crate declares it.
fn specs() -> BTreeMap<String, FunctionSpec> {
    [summarize::spec(), asr_postprocess::spec()]
        .into_iter()
        .map(|spec| (spec.name.clone(), spec))
        .collect()
}

fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform")
}

fn parse_file(path: &Path) -> Body {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    hcl::parse(&text).unwrap_or_else(|e| panic!("{} is not valid HCL: {e}", path.display()))
}

/// Top-level blocks of all `.tf` files directly in `dir`: one module.
fn module_blocks(dir: &Path) -> Vec<Block> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .tf files in {}", dir.display());
    paths
        .iter()
        .flat_map(|p| parse_file(p).into_blocks())
        .collect()
}

fn root_module() -> Vec<Block> {
    module_blocks(&terraform_dir())
}

fn function_module() -> Vec<Block> {
    module_blocks(&terraform_dir().join("modules/function"))
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels().iter().map(|label| label.as_str()).collect()
}

/// The one block `kind "labels[0]" "labels[1]"`, e.g. a resource.
fn block<'a>(blocks: &'a [Block], kind: &str, wanted: &[&str]) -> &'a Block {
    let found: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.identifier() == kind && labels(b) == wanted)
        .collect();
    match found[..] {
        [one] => one,
        _ => panic!(
            "expected one `{kind} {wanted:?}` block, found {}",
            found.len()
        ),
    }
}

/// All `resource "<kind>" "..."` blocks.
fn resources<'a>(blocks: &'a [Block], kind: &str) -> Vec<&'a Block> {
    blocks
        .iter()
        .filter(|b| b.identifier() == "resource" && labels(b).first() == Some(&kind))
        .collect()
}

/// The body of the nested block at `path`, e.g. `template.containers`.
fn nested<'a>(body: &'a Body, path: &str) -> &'a Body {
    path.split('.').fold(body, |body, name| {
        body.blocks()
            .find(|b| b.identifier() == name)
            .unwrap_or_else(|| panic!("no `{name}` block on the way to `{path}`"))
            .body()
    })
}

/// The attribute at `path`: dot-separated nested block names, then the key.
fn expr<'a>(body: &'a Body, path: &str) -> &'a Expression {
    let (body, key) = match path.rsplit_once('.') {
        Some((blocks, key)) => (nested(body, blocks), key),
        None => (body, path),
    };
    body.attributes()
        .find(|a| a.key() == key)
        .unwrap_or_else(|| panic!("no attribute at `{path}`"))
        .expr()
}

/// The attribute at `path` as HCL source text, e.g. `var.spec.queue`.
fn text(block: &Block, path: &str) -> String {
    expr(block.body(), path).to_string()
}

/// A local value, wherever among the module's `locals` blocks it is defined.
fn local<'a>(blocks: &'a [Block], name: &str) -> &'a Expression {
    blocks
        .iter()
        .filter(|b| b.identifier() == "locals")
        .flat_map(|b| b.body().attributes())
        .find(|a| a.key() == name)
        .unwrap_or_else(|| panic!("no local `{name}`"))
        .expr()
}

/// Entries of the object literals in `expr`, looking inside calls such as
/// `merge(var.x, { ... })` and both arms of a conditional; later literals
/// win, as they do for merge().
fn entries(expr: &Expression) -> BTreeMap<String, &Expression> {
    match expr {
        Expression::Object(object) => object.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        Expression::FuncCall(call) => call.args.iter().flat_map(entries).collect(),
        Expression::Conditional(cond) => [&cond.true_expr, &cond.false_expr]
            .into_iter()
            .flat_map(entries)
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The source text of each entry of `entries(expr)`.
fn entry_texts(expr: &Expression) -> BTreeMap<String, String> {
    entries(expr)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

/// The items of a list of string literals such as `["serve"]`.
fn strings(expr: &Expression) -> Vec<&str> {
    let Expression::Array(items) = expr else {
        panic!("expected a list, found `{expr}`");
    };
    items.iter().map(string).collect()
}

fn string(expr: &Expression) -> &str {
    match expr {
        Expression::String(s) => s,
        other => panic!("expected a string literal, found `{other}`"),
    }
}

/// The nested field names of a value: what a type constraint must describe.
#[derive(Debug, PartialEq)]
enum Shape {
    Leaf,
    Fields(BTreeMap<String, Shape>),
}

fn json_shape(value: &Value) -> Shape {
    match value {
        Value::Object(fields) => Shape::Fields(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), json_shape(v)))
                .collect(),
        ),
        _ => Shape::Leaf,
    }
}

/// Shape of a type constraint: `object({...})` nests, anything else is a leaf.
fn type_shape(expr: &Expression) -> Shape {
    match expr {
        Expression::FuncCall(call) if call.name.name.as_str() == "object" => {
            let [Expression::Object(fields)] = &call.args[..] else {
                panic!("object() takes one object literal, found `{expr}`");
            };
            Shape::Fields(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), type_shape(v)))
                    .collect(),
            )
        }
        _ => Shape::Leaf,
    }
}

/// The `T` of `map(T)`.
fn map_element(expr: &Expression) -> &Expression {
    match expr {
        Expression::FuncCall(call) if call.name.name.as_str() == "map" => &call.args[0],
        other => panic!("expected map(...), found `{other}`"),
    }
}

/// JSON equality in which 20 and 20.0 are the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn tfvars() -> Value {
    let path = terraform_dir().join("functions.auto.tfvars.json");
    let text = fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn tfvars_file_equals_the_spec_of_every_function() {
    let expected: serde_json::Map<String, Value> = specs()
        .into_iter()
        .map(|(name, spec)| (name, serde_json::to_value(spec).unwrap()))
        .collect();
    let expected = serde_json::json!({ "functions": expected });
    let actual = tfvars();

    assert!(
        same_json(&actual, &expected),
        "terraform/functions.auto.tfvars.json is stale; run `make terraform-vars`.\n\
         file:\n{actual:#}\nspecs:\n{expected:#}"
    );
}

#[test]
fn functions_variable_type_has_exactly_the_function_spec_fields() {
    let spec = serde_json::to_value(summarize::spec()).unwrap();
    let root = root_module();
    let module = function_module();

    let functions = block(&root, "variable", &["functions"]);
    let root_type = map_element(expr(functions.body(), "type"));
    assert_eq!(
        type_shape(root_type),
        json_shape(&spec),
        "variable \"functions\""
    );

    let module_spec = block(&module, "variable", &["spec"]);
    let module_type = expr(module_spec.body(), "type");
    assert_eq!(
        type_shape(module_type),
        json_shape(&spec),
        "module variable \"spec\""
    );
}

#[test]
fn root_instantiates_the_function_module_for_each_function() {
    let root = root_module();
    let call = block(&root, "module", &["function"]);

    assert_eq!(string(expr(call.body(), "source")), "./modules/function");
    assert!(terraform_dir().join("modules/function").is_dir());
    assert_eq!(text(call, "for_each"), "var.functions");
    assert_eq!(text(call, "spec"), "each.value");
    assert_eq!(text(call, "image"), "local.images[each.key]");

    let listed: Vec<String> = tfvars()["functions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let declared: Vec<String> = specs().into_keys().collect();
    assert_eq!(listed, declared, "functions in the tfvars file");
}

#[test]
fn queue_rate_limits_and_retry_policy_come_from_the_spec() {
    let module = function_module();
    let queue = block(&module, "resource", &["google_cloud_tasks_queue", "this"]);

    for (path, source) in [
        ("name", "var.spec.queue"),
        (
            "rate_limits.max_dispatches_per_second",
            "var.spec.rate_limits.max_dispatches_per_second",
        ),
        (
            "rate_limits.max_concurrent_dispatches",
            "var.spec.rate_limits.max_concurrent_dispatches",
        ),
        ("retry_config.max_attempts", "var.spec.retry.max_attempts"),
        ("retry_config.max_doublings", "var.spec.retry.max_doublings"),
        (
            "retry_config.min_backoff",
            "\"${var.spec.retry.min_backoff_seconds}s\"",
        ),
        (
            "retry_config.max_backoff",
            "\"${var.spec.retry.max_backoff_seconds}s\"",
        ),
        (
            "retry_config.max_retry_duration",
            "\"${var.spec.retry.max_retry_duration_seconds}s\"",
        ),
        (
            "stackdriver_logging_config.sampling_ratio",
            "var.task_log_sampling_ratio",
        ),
    ] {
        assert_eq!(text(queue, path), source, "queue {path}");
    }
}

#[test]
fn dead_letters_go_to_a_topic_with_a_subscription_keeping_them_seven_days() {
    let module = function_module();
    let topic = block(
        &module,
        "resource",
        &["google_pubsub_topic", "dead_letters"],
    );
    let sub = block(
        &module,
        "resource",
        &["google_pubsub_subscription", "dead_letters"],
    );

    assert_eq!(text(topic, "name"), "var.spec.dead_letter_topic");
    assert_eq!(text(sub, "name"), "var.spec.dead_letter_subscription");
    assert_eq!(text(sub, "topic"), "google_pubsub_topic.dead_letters.id");
    assert_eq!(text(sub, "message_retention_duration"), "\"604800s\"");
    assert_eq!(
        text(sub, "expiration_policy.ttl"),
        "\"\"",
        "the subscription must not expire"
    );
}

#[test]
fn service_serves_the_spec_without_public_access() {
    let module = function_module();
    let service = block(
        &module,
        "resource",
        &["google_cloud_run_v2_service", "this"],
    );

    for (path, source) in [
        ("name", "var.spec.name"),
        ("ingress", "var.ingress"),
        ("invoker_iam_disabled", "false"),
        ("deletion_protection", "var.deletion_protection"),
        (
            "template.service_account",
            "google_service_account.runtime.email",
        ),
        (
            "template.max_instance_request_concurrency",
            "var.spec.request_concurrency",
        ),
        (
            "template.scaling.min_instance_count",
            "var.spec.scaling.min_instances",
        ),
        (
            "template.scaling.max_instance_count",
            "var.spec.scaling.max_instances",
        ),
        ("template.containers.image", "var.image"),
        (
            "template.containers.resources.limits",
            "local.resource_limits",
        ),
    ] {
        assert_eq!(text(service, path), source, "service {path}");
    }
    assert_eq!(
        strings(expr(service.body(), "template.containers.args")),
        ["serve"]
    );

    let root = root_module();
    let ingress = block(&root, "variable", &["ingress"]);
    assert_eq!(
        text(ingress, "default"),
        "\"INGRESS_TRAFFIC_INTERNAL_ONLY\""
    );
}

#[test]
fn service_timeout_covers_the_dispatch_deadline() {
    let module = function_module();
    let service = block(
        &module,
        "resource",
        &["google_cloud_run_v2_service", "this"],
    );

    assert_eq!(
        text(service, "template.timeout"),
        "\"${local.request_timeout_seconds}s\""
    );
    assert_eq!(
        local(&module, "request_timeout_seconds").to_string(),
        "var.spec.dispatch_deadline_seconds + var.spec.lease_margin_seconds"
    );
    for spec in specs().values() {
        let timeout = spec.dispatch_deadline_seconds + spec.lease_margin_seconds;
        assert!(
            timeout <= 3600,
            "{}: Cloud Run allows at most 3600 s",
            spec.name
        );
    }
}

#[test]
fn service_environment_carries_audience_invokers_attempts_project_and_dead_letters() {
    let module = function_module();
    let environment = local(&module, "environment");
    let env = entry_texts(environment);

    for (name, source) in [
        ("TASKLANE_AUDIENCE", "local.audience"),
        ("TASKLANE_INVOKERS", "google_service_account.invoker.email"),
        (
            "TASKLANE_MAX_ATTEMPTS",
            "tostring(var.spec.retry.max_attempts)",
        ),
        ("TASKLANE_DLQ_TOPIC", "google_pubsub_topic.dead_letters.id"),
        ("TASKLANE_QUEUE", "local.queue_id"),
        ("TASKLANE_LOCATION", "var.region"),
        ("GOOGLE_CLOUD_PROJECT", "var.project_id"),
    ] {
        assert_eq!(
            env.get(name).map(String::as_str),
            Some(source),
            "environment {name}"
        );
    }
    let Expression::FuncCall(merge) = environment else {
        panic!("local.environment should merge extra_env with the managed names");
    };
    let sources: Vec<String> = merge.args.iter().map(ToString::to_string).collect();
    assert_eq!(
        sources[0], "var.extra_env",
        "managed names must win over extra_env"
    );
    assert!(
        sources.contains(&"local.target_env".to_owned()),
        "{sources:?}"
    );
    assert!(
        sources.contains(&"local.invoker_env".to_owned()),
        "{sources:?}"
    );

    let audience = local(&module, "audience").to_string();
    assert_eq!(audience, "coalesce(var.audience, local.service_url)");
}

#[test]
fn relay_environment_names_every_follow_up_target() {
    let module = function_module();
    let targets = local(&module, "target_env").to_string();
    for (prefix, field) in [
        ("TASKLANE_TARGET_URL_", "target.url"),
        ("TASKLANE_TARGET_QUEUE_", "target.queue"),
        ("TASKLANE_TARGET_AUDIENCE_", "target.audience"),
    ] {
        let key = format!("\"{prefix}${{upper(replace(name, \"/[^A-Za-z0-9]/\", \"_\"))}}\"");
        assert!(
            targets.contains(&format!("{key} = {field}")),
            "{key}:\n{targets}"
        );
    }
    let invoker = entry_texts(local(&module, "invoker_env"));
    assert_eq!(invoker["TASKLANE_INVOKER_SA"], "var.follow_up_invoker");

    let root = root_module();
    let call = block(&root, "module", &["function"]);
    assert_eq!(text(call, "targets"), "local.follow_up_targets");
    assert_eq!(text(call, "follow_up_invoker"), "local.follow_up_invoker");
}

#[test]
fn service_and_job_read_database_url_from_secret_manager() {
    let module = function_module();
    for (kind, containers) in [
        ("google_cloud_run_v2_service", "template.containers"),
        ("google_cloud_run_v2_job", "template.template.containers"),
    ] {
        let run = block(&module, "resource", &[kind, "this"]);
        let container = nested(run.body(), containers);
        let database = container
            .blocks()
            .filter(|b| b.identifier() == "env")
            .find(|b| text(b, "name") == "\"DATABASE_URL\"")
            .unwrap_or_else(|| panic!("{kind}: no DATABASE_URL env block"));
        let secret = "value_source.secret_key_ref";
        assert_eq!(
            text(database, &format!("{secret}.secret")),
            "var.database_url_secret"
        );
        let version = text(database, &format!("{secret}.version"));
        assert_eq!(version, "var.database_url_secret_version", "{kind}");

        let settings = container
            .blocks()
            .find(|b| b.identifier() == "dynamic" && labels(b) == ["env"])
            .unwrap_or_else(|| panic!("{kind}: no dynamic env block"));
        assert_eq!(text(settings, "for_each"), "local.environment", "{kind}");
    }
}

#[test]
fn job_runs_batch_mode_with_the_spec_job_settings() {
    let module = function_module();
    let job = block(&module, "resource", &["google_cloud_run_v2_job", "this"]);

    for (path, source) in [
        ("deletion_protection", "var.deletion_protection"),
        ("template.task_count", "var.spec.job.task_count"),
        ("template.parallelism", "var.spec.job.parallelism"),
        ("template.template.max_retries", "var.spec.job.max_retries"),
        (
            "template.template.timeout",
            "\"${var.spec.job.timeout_seconds}s\"",
        ),
        (
            "template.template.service_account",
            "google_service_account.runtime.email",
        ),
        ("template.template.containers.image", "var.image"),
    ] {
        assert_eq!(text(job, path), source, "job {path}");
    }
    assert_eq!(
        strings(expr(job.body(), "template.template.containers.args")),
        ["job"]
    );
}

#[test]
fn only_the_invoker_account_may_invoke_the_service() {
    let module = function_module();
    let grants = resources(&module, "google_cloud_run_v2_service_iam_member");

    let [grant] = grants[..] else {
        panic!("expected one run.invoker grant, found {}", grants.len());
    };
    assert_eq!(text(grant, "role"), "\"roles/run.invoker\"");
    assert_eq!(text(grant, "name"), "google_cloud_run_v2_service.this.name");
    assert_eq!(
        text(grant, "member"),
        "google_service_account.invoker.member"
    );
}

#[test]
fn no_grant_anywhere_admits_all_users() {
    let dirs = [terraform_dir(), terraform_dir().join("modules/function")];
    for block in dirs.iter().flat_map(|d| module_blocks(d)) {
        let source = hcl::format::to_string(&block).unwrap();
        assert!(!source.contains("allUsers"), "public grant in:\n{source}");
        assert!(
            !source.contains("allAuthenticatedUsers"),
            "public grant in:\n{source}"
        );
    }
}

#[test]
fn enqueuer_and_runtime_may_enqueue_and_act_as_the_invoker() {
    let module = function_module();
    let enqueuers: Vec<String> = entry_texts(local(&module, "enqueuers"))
        .into_values()
        .collect();
    let expected = [
        "google_service_account.enqueuer.member",
        "google_service_account.runtime.member",
    ];
    assert_eq!(enqueuers, expected);

    let create = block(
        &module,
        "resource",
        &[
            "google_cloud_tasks_queue_iam_member",
            "enqueuers_create_tasks",
        ],
    );
    assert_eq!(text(create, "for_each"), "local.enqueuers");
    assert_eq!(text(create, "name"), "google_cloud_tasks_queue.this.name");
    assert_eq!(text(create, "role"), "\"roles/cloudtasks.enqueuer\"");
    assert_eq!(text(create, "member"), "each.value");

    let act_as = block(
        &module,
        "resource",
        &[
            "google_service_account_iam_member",
            "enqueuers_act_as_invoker",
        ],
    );
    assert_eq!(text(act_as, "for_each"), "local.enqueuers");
    assert_eq!(
        text(act_as, "service_account_id"),
        "google_service_account.invoker.name"
    );
    assert_eq!(text(act_as, "role"), "\"roles/iam.serviceAccountUser\"");
    assert_eq!(text(act_as, "member"), "each.value");
}

#[test]
fn runtime_may_publish_dead_letters_and_read_the_database_url() {
    let module = function_module();
    let publish = block(
        &module,
        "resource",
        &[
            "google_pubsub_topic_iam_member",
            "runtime_publishes_dead_letters",
        ],
    );
    assert_eq!(
        text(publish, "topic"),
        "google_pubsub_topic.dead_letters.name"
    );
    assert_eq!(text(publish, "role"), "\"roles/pubsub.publisher\"");
    assert_eq!(
        text(publish, "member"),
        "google_service_account.runtime.member"
    );

    let read = block(
        &module,
        "resource",
        &[
            "google_secret_manager_secret_iam_member",
            "runtime_reads_database_url",
        ],
    );
    assert_eq!(text(read, "secret_id"), "local.database_url_secret_id");
    assert_eq!(text(read, "role"), "\"roles/secretmanager.secretAccessor\"");
    assert_eq!(
        text(read, "member"),
        "google_service_account.runtime.member"
    );
}

#[test]
fn every_runtime_may_send_follow_ups_and_dead_letters_of_other_functions() {
    let root = root_module();
    let create = block(
        &root,
        "resource",
        &[
            "google_cloud_tasks_queue_iam_member",
            "sender_creates_follow_ups",
        ],
    );
    assert_eq!(text(create, "for_each"), "local.follow_up_grants");
    assert_eq!(
        text(create, "name"),
        "module.function[each.value.target].queue_name"
    );
    assert_eq!(text(create, "role"), "\"roles/cloudtasks.enqueuer\"");
    assert_eq!(
        text(create, "member"),
        "module.function[each.value.sender].runtime_member"
    );

    let act_as = block(
        &root,
        "resource",
        &[
            "google_service_account_iam_member",
            "sender_acts_as_target_invoker",
        ],
    );
    assert_eq!(text(act_as, "for_each"), "local.follow_up_grants");
    let target = "module.function[each.value.target].invoker_service_account_name";
    assert_eq!(text(act_as, "service_account_id"), target);
    assert_eq!(text(act_as, "role"), "\"roles/iam.serviceAccountUser\"");
    assert_eq!(
        text(act_as, "member"),
        "module.function[each.value.sender].runtime_member"
    );

    let publish = block(
        &root,
        "resource",
        &[
            "google_pubsub_topic_iam_member",
            "publisher_sends_dead_letters",
        ],
    );
    assert_eq!(text(publish, "for_each"), "local.dead_letter_grants");
    assert_eq!(
        text(publish, "topic"),
        "module.function[each.value.owner].dead_letter_topic_id"
    );
    assert_eq!(text(publish, "role"), "\"roles/pubsub.publisher\"");

    for grants in ["follow_up_grants", "dead_letter_grants"] {
        let pairs = local(&root, grants).to_string();
        assert!(
            pairs.contains("setproduct(keys(var.functions)"),
            "{grants}: {pairs}"
        );
    }
    let variable = block(&root, "variable", &["follow_up_functions"]);
    let default = strings(expr(variable.body(), "default"));
    assert_eq!(
        default,
        ["summarize"],
        "asr-postprocess hands meetings to summarize"
    );
}

#[test]
fn extra_secrets_and_project_roles_are_granted_only_as_configured() {
    let module = function_module();
    let secrets = block(
        &module,
        "resource",
        &[
            "google_secret_manager_secret_iam_member",
            "runtime_reads_secret_env",
        ],
    );
    assert_eq!(text(secrets, "for_each"), "local.secret_env_ids");
    assert_eq!(
        text(secrets, "role"),
        "\"roles/secretmanager.secretAccessor\""
    );

    let roles = block(
        &module,
        "resource",
        &["google_project_iam_member", "runtime_project_roles"],
    );
    assert_eq!(text(roles, "for_each"), "toset(var.project_roles)");
    assert_eq!(
        text(roles, "member"),
        "google_service_account.runtime.member"
    );
    let traces = block(
        &module,
        "resource",
        &["google_project_iam_member", "runtime_writes_traces"],
    );
    assert_eq!(text(traces, "role"), "\"roles/cloudtrace.agent\"");
    assert_eq!(
        text(traces, "member"),
        "google_service_account.runtime.member"
    );
    let project_grants = resources(&module, "google_project_iam_member");
    assert_eq!(
        project_grants.len(),
        2,
        "project-wide grants are trace writing and the configured ones"
    );

    let variable = block(&module, "variable", &["project_roles"]);
    assert_eq!(text(variable, "default"), "[]");
}

#[test]
fn providers_are_pinned_to_google_7_and_terraform_1_5() {
    for blocks in [root_module(), function_module()] {
        let settings = block(&blocks, "terraform", &[]);
        assert_eq!(text(settings, "required_version"), "\">= 1.5\"");
        let google = entry_texts(expr(settings.body(), "required_providers.google"));
        assert_eq!(google["source"], "\"hashicorp/google\"");
        assert_eq!(google["version"], "\"~> 7.0\"");
    }
}

#[test]
fn every_variable_is_described_and_required_inputs_are_validated() {
    for blocks in [root_module(), function_module()] {
        for variable in blocks.iter().filter(|b| b.identifier() == "variable") {
            let name = labels(variable).join("");
            let description = text(variable, "description");
            assert!(
                description.len() > 10,
                "variable {name} needs a description"
            );
        }
    }
    let root = root_module();
    for name in [
        "project_id",
        "region",
        "image_repository",
        "image_tag",
        "database_url_secret",
    ] {
        let variable = block(&root, "variable", &[name]);
        assert!(
            variable
                .body()
                .blocks()
                .any(|b| b.identifier() == "validation"),
            "{name}"
        );
    }
}

#[test]
fn example_tfvars_sets_every_required_variable() {
    let example = parse_file(&terraform_dir().join("terraform.tfvars.example"));
    let set: Vec<&str> = example.attributes().map(|a| a.key()).collect();

    let root = root_module();
    let required = root
        .iter()
        .filter(|b| b.identifier() == "variable")
        .filter(|b| {
            let generated = labels(b) == ["functions"];
            !generated && !b.body().attributes().any(|a| a.key() == "default")
        });
    for variable in required {
        let name = labels(variable)[0];
        assert!(
            set.contains(&name),
            "terraform.tfvars.example does not set {name}"
        );
    }
}
