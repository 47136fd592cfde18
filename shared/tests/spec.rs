//! The spec against what Terraform deployed.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use tasklane::FunctionSpec;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn a_deployment_that_matches_the_spec_starts() {
    let spec = FunctionSpec::new("summarize");
    let deployed = vars(&[
        (
            "TASKLANE_QUEUE",
            "projects/p/locations/us-central1/queues/summarize",
        ),
        ("TASKLANE_MAX_ATTEMPTS", "100"),
        (
            "TASKLANE_DLQ_TOPIC",
            "projects/p/topics/summarize-dead-letters",
        ),
    ]);

    assert_eq!(spec.check_deployment(deployed), Ok(()));
    assert_eq!(
        spec.check_deployment(vars(&[])),
        Ok(()),
        "unset variables are not checked"
    );
}

#[test]
fn a_queue_with_other_max_attempts_refuses_to_start() {
    let spec = FunctionSpec::new("summarize");

    let err = spec
        .check_deployment(vars(&[("TASKLANE_MAX_ATTEMPTS", "5")]))
        .unwrap_err();

    assert_eq!(err.variable, "TASKLANE_MAX_ATTEMPTS");
    assert_eq!(err.expected, "100");
    assert!(err.to_string().contains("make terraform-vars"));
}

#[test]
fn another_functions_queue_or_topic_refuses_to_start() {
    let spec = FunctionSpec::new("summarize");

    let queue = vars(&[(
        "TASKLANE_QUEUE",
        "projects/p/locations/l/queues/asr-postprocess",
    )]);
    let topic = vars(&[("TASKLANE_DLQ_TOPIC", "projects/p/topics/other-dead-letters")]);

    assert_eq!(
        spec.check_deployment(queue).unwrap_err().variable,
        "TASKLANE_QUEUE"
    );
    assert_eq!(
        spec.check_deployment(topic).unwrap_err().variable,
        "TASKLANE_DLQ_TOPIC"
    );
}
