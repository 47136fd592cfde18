//! Which found action items are worth showing: not the running of the
//! meeting itself ("let me check the time", "I'll recap"), not a verb with
//! only a pronoun for its object ("test it") once nothing says what "it"
//! is, and each piece of work once per owner however often it was said.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::re;
use crate::local::terms;

/// Work that is the meeting running itself: keeping time, taking turns,
/// recapping, sharing a screen, putting a topic off.
static MEETING_TALK: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:(?:quickly|just|also|briefly|first)\s+)*(?:check (?:the|on the) (?:time|clock)|",
        r"keep (?:an eye on )?(?:the )?time|recap|summari[sz]e|sum (?:it |this )?up|",
        r"wrap (?:it |this |things )?up|go (?:over|through) (?:it|this|that|them|the (?:agenda|notes|list))|",
        r"move on|kick (?:it |this |things )?off|start (?:us|the meeting|with)|begin|",
        r"go (?:first|next|last|ahead)|read (?:it |them |this |that )?out|",
        r"introduce|repeat|rephrase|clarify|jump in|chime in|add (?:one|a|something|to that)|",
        r"say (?:something|a word|one thing)|ask (?:a|one|you)|answer (?:that|your)|mute|unmute|",
        r"share (?:my |the |your )?screen|stop sharing|take (?:notes|a note|the notes|minutes|",
        r"it offline|that offline|this offline)|note (?:that|it|this) down|write (?:that|it|this) down|",
        r"come back to|circle back|park (?:it|that|this)|hold (?:it|that|this|off)|pull (?:it |that )?up|",
        r"bring (?:it|that|this) up|hand (?:it |this |things )?over|pass (?:it|this|that) (?:over|on)|",
        r"turn (?:it|this) over|run through|walk (?:you|everyone|us) through|show you|shout|",
        r"put (?:it|that|this) on the agenda|stop (?:you|us) there|let you go)\b"
    ))
});

/// Objects that say nothing without the sentence before them.
const POINTERS: [&str; 10] = [
    "it", "that", "this", "them", "those", "these", "one", "so", "there", "again",
];

/// "Have to", "need to": what comes after says what the work is.
static LEADING_MODAL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^(?:(?:have|has|need|needs|got|try|want) to|be able to)\s+"));

/// Whether `task` is real work a reader can act on.
pub(super) fn worth_showing(task: &str) -> bool {
    !MEETING_TALK.is_match(task) && !points_only(task)
}

/// "Test it", "announce that", "do this again": a verb whose object is a
/// pronoun, with no other content word to say what it stands for.
fn points_only(task: &str) -> bool {
    let task = LEADING_MODAL.replace(task, "");
    let mut words = task.split_whitespace().map(|w| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    });
    let Some(verb) = words.next() else {
        return false;
    };
    let rest: Vec<String> = words.collect();
    let points = rest.iter().any(|w| POINTERS.contains(&w.as_str()));
    let content = terms::terms(&rest.join(" "))
        .into_iter()
        .filter(|t| *t != terms::stem(&verb))
        .count();
    points && content == 0
}

/// Whether a verb of commitment is in the past ("wanted to", "said",
/// "promised"): a report of what someone meant to do, not work given now.
pub(super) fn is_past(word: &str) -> bool {
    let w = word.to_lowercase();
    (w.ends_with("ed") && !w.ends_with("eed") && w.len() > 3)
        || matches!(
            w.as_str(),
            "said" | "told" | "thought" | "sent" | "made" | "had" | "was" | "were" | "did"
        )
}

/// Whether two tasks of the same owner are one piece of work: most of
/// their terms shared, or every term of the shorter in the longer with the
/// same verb ("test it" and "test the driver change").
pub(super) fn same_work(
    a: &HashSet<String>,
    b: &HashSet<String>,
    a_task: &str,
    b_task: &str,
) -> bool {
    let shared = a.intersection(b).count();
    let union = a.union(b).count();
    if union > 0 && shared * 5 >= union * 2 {
        return true;
    }
    let smaller = a.len().min(b.len());
    let same_verb = first_word(a_task) == first_word(b_task);
    smaller > 0 && same_verb && shared * 4 >= smaller * 3
}

fn first_word(task: &str) -> String {
    task.split_whitespace().next().unwrap_or("").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(task: &str) -> HashSet<String> {
        terms::terms(task).into_iter().collect()
    }

    #[test]
    fn running_the_meeting_is_not_work() {
        for task in [
            "check the time",
            "recap, and shout if I missed something",
            "hold that for later",
            "share my screen",
            "take notes",
            "come back to it",
        ] {
            assert!(!worth_showing(task), "{task}");
        }
        for task in [
            "send the invite",
            "check the backup jobs",
            "take the logging levels",
        ] {
            assert!(worth_showing(task), "{task}");
        }
    }

    #[test]
    fn a_verb_with_only_a_pronoun_is_not_shown() {
        assert!(!worth_showing("announce it"));
        assert!(!worth_showing("do that again"));
        assert!(!worth_showing("have to test it"));
        assert!(worth_showing("put it near the top"));
        assert!(worth_showing("keep it to one page"));
    }

    #[test]
    fn reported_intentions_are_past() {
        assert!(is_past("wanted") && is_past("said"));
        assert!(!is_past("need") && !is_past("feed") && !is_past("send"));
    }

    #[test]
    fn a_vaguer_copy_of_the_same_work_is_the_same_work() {
        let (a, b) = ("test it", "test the driver change");
        assert!(same_work(&set(a), &set(b), a, b));
        let (a, b) = (
            "set up the rotation",
            "set up the secondary on-call rotation in the paging tool",
        );
        assert!(same_work(&set(a), &set(b), a, b));
        let (a, b) = (
            "send them the customer list first",
            "send the deprecation announcement to the API customers",
        );
        assert!(!same_work(&set(a), &set(b), a, b));
    }
}
