use super::*;
use crate::local::sentences_of;
use crate::transcript::Transcript;

fn meeting_of(text: &str) -> Vec<Sentence> {
    sentences_of(&Transcript::from_text(text))
}

#[test]
fn agreement_and_lets_go_with_are_decisions() {
    let s = meeting_of(
        "A: Should we pull it out of the release?\n\
         B: Okay so let's go with the feature flag and leave it off for three two.\n\
         A: Let's talk about the date.\n\
         B: So we're agreed, we submit to both stores on Tuesday instead of Friday.",
    );
    let d = Meeting::new(&s).decisions();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].contains("feature flag"), "{d:?}");
    assert!(d[1].contains("Tuesday"), "{d:?}");
}

#[test]
fn undecided_and_conditional_talk_is_not_a_decision() {
    let s = meeting_of(
        "A: We haven't decided on the vendor yet.\nB: If we go with Harbor it costs more.",
    );
    assert!(Meeting::new(&s).decisions().is_empty());
}

#[test]
fn anaphoric_decision_stands_for_what_it_points_at() {
    let s = meeting_of(
        "A: New rule: plots not planted by June first go to the next person on the list.\n\
         B: Yes.\nC: Okay, that passes.\n\
         D: So two decisions there. Paging moves to burn rate alerts, and we add a secondary rotation.",
    );
    let d = Meeting::new(&s).decisions();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].contains("June first"), "{d:?}");
    assert!(d[1].contains("burn rate"), "{d:?}");
}

#[test]
fn recap_statements_are_decisions_and_its_assignments_actions() {
    let s = meeting_of(
        "S1: So where are we on the crash, Marcus?\nS2: Fixed by Friday.\n\
         S1: Okay so let me just recap. Code freeze Monday noon the checkout fix is the one \
         exception. Offline mode is behind a flag off by default. Dana runs regression Monday \
         Leo does the release notes by Monday and I talk to support today.",
    );
    let m = Meeting::new(&s);
    let d = m.decisions();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("Code freeze Monday noon"), "{d:?}");
    let owners: Vec<_> = m.action_items().into_iter().map(|a| a.owner).collect();
    assert_eq!(
        owners,
        [
            Some("Dana".to_owned()),
            Some("Leo".to_owned()),
            Some("S1".to_owned())
        ]
    );
}

#[test]
fn first_person_commitment_is_owned_by_the_speaker() {
    let s = meeting_of("Priya: Um, I can have it merged by Thursday.");
    let items = Meeting::new(&s).action_items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].owner.as_deref(), Some("Priya"));
    assert_eq!(items[0].task, "have it merged");
    assert_eq!(items[0].due.as_deref(), Some("by Thursday"));
}

#[test]
fn inferred_names_replace_diarization_labels() {
    let s = meeting_of(
        "S1: Leo what does that mean for submission.\nS2: Review takes a day.\n\
         S1: Leo, can you draft the release notes?\nS2: Yes, I'll do that by Monday.",
    );
    let items = Meeting::new(&s).action_items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].owner.as_deref(), Some("Leo"));
    assert_eq!(items[0].task, "draft the release notes");
    assert_eq!(items[0].due.as_deref(), Some("by Monday"));
}

#[test]
fn a_pronoun_in_the_acceptance_completes_the_request() {
    let s = meeting_of(
        "S2: Can you send me the batch size you pick I want to watch the lag.\n\
         S1: Yeah I'll post it in the channel.",
    );
    let items = Meeting::new(&s).action_items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].task,
        "send me the batch size you pick; post it in the channel"
    );
    assert_eq!(items[0].owner.as_deref(), Some("S1"));
}

#[test]
fn named_requests_and_assignments_name_the_owner() {
    let s = meeting_of(
        "Lead: Kenji, can you ask the factory for fifty boxes early?\n\
         Kenji: Yeah, I'll email them today.\n\
         Lead: Okay, Ravi does the overview figure this week.",
    );
    let items = Meeting::new(&s).action_items();
    let owners: Vec<_> = items.iter().map(|i| i.owner.as_deref()).collect();
    assert_eq!(owners, [Some("Kenji"), Some("Ravi")], "{items:?}");
    assert_eq!(items[0].due.as_deref(), Some("today"));
    assert_eq!(items[1].task, "do the overview figure");
    assert_eq!(items[1].due.as_deref(), Some("this week"));
}

#[test]
fn small_talk_with_i_will_is_not_an_action() {
    let s = meeting_of("A: I'll be honest, I think it's fine.\nB: I can hear you.");
    assert!(Meeting::new(&s).action_items().is_empty());
}

#[test]
fn chinese_commitments_assignments_and_decisions_are_found() {
    let s = meeting_of(
        "王芳：我們決定下個月改用新的供應商。\n\
         李明：好，我下週三之前把合約草稿發給大家。\n\
         王芳：那就這樣。張偉負責聯絡財務部門，陈静周五之前修好推送。",
    );
    let m = Meeting::new(&s);
    let d = m.decisions();
    assert!(d.iter().any(|d| d.contains("供應商")), "{d:?}");
    let items = m.action_items();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].owner.as_deref(), Some("李明"));
    assert_eq!(items[0].due.as_deref(), Some("下週三之前"));
    assert!(items[0].task.contains("合約草稿"), "{items:?}");
    assert_eq!(items[1].owner.as_deref(), Some("張偉"));
    assert!(items[1].task.contains("財務"), "{items:?}");
    assert_eq!(items[2].owner.as_deref(), Some("陈静"));
    assert_eq!(items[2].due.as_deref(), Some("周五之前"));
}

#[test]
fn approval_marker_points_at_the_rest_of_the_turn() {
    let s = meeting_of(
        "Sofia: It's approved, it'll happen. I'll open the SRE job req this week and I'll talk \
         to finance about the database engineer budget.",
    );
    let d = Meeting::new(&s).decisions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("SRE job req"), "{d:?}");
}
