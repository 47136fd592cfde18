//! Action items: requests someone accepted ("Marcus, can you ...?" "Yes,
//! tomorrow."), commitments ("I'll ..."), assignments ("Emma writes the
//! runbook by July 26"), in English and Chinese, with their due dates.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::people::NAME;
use super::{Meeting, re, vet};
use crate::local::clean::{spell_out, tidy};
use crate::local::{Sentence, due, terms};
use crate::summary::{ActionItem, is_han};

/// Sentence openers a pattern may skip ("So Dana, ...", "And I'll ...").
const LEAD: &str =
    r"^(?:(?:so|and|okay|ok|then|also|great|good|right|yes|yeah|um|uh|alright)[,.]? )*";

static NAMED_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i:{LEAD})({NAME}(?: and {NAME})?),? (?:(?i:can|could|would|will) you (?:please )?|you(?:'ll| will| can| could)? (?:please )?|(?i:please) )(.+)"
    ))
});

static REQUEST_NAMED_LAST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:[Cc]an|[Cc]ould|[Ww]ould) you (?:please )?(.+?),? ({NAME})[?.!]?$"
    ))
});

static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i){LEAD}(?:can|could|would) you (?:please |maybe )?(.+)"
    ))
});

static REQUEST_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(\p{Han}{2,3}|[A-Z][a-z]+)[，,]\s*(?:你|您)(?:能不能|可不可以|可以|来|來|负责|負責|去|帮忙|幫忙|再)?(.+)$",
    )
});

static YOURS: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"({NAME}),? (.+?) (?:is|are) (?:yours|on you)\b")));

static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i:{LEAD})({NAME}(?: and {NAME})?),? (?:will|'ll|is going to|is gonna|are going to|needs to|need to|has to|have to|should|is responsible for|is in charge of|takes care of|can) (.+)"
    ))
});

static ASSIGNED_PRESENT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i:{LEAD})({NAME}(?: and {NAME})?) ([a-z]+) (.+)"
    ))
});

static FIRST_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(?:I'll|I will|I can|I'm going to|I am going to|I'm gonna|let me|",
        r"I need to|I have to|I'll go ahead and)\s+(.+)"
    ))
});

/// "I do the migration script": a recap's present tense commits too.
static FIRST_PERSON_PRESENT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:and )?I ((?:do|take|write|send|run|handle|own|talk|fix|check|",
        r"call|email|draft|make|update|set|put|add|open|move|convert|prepare|",
        r"review|test|pilot|book|order|print|share|announce|follow|ask|tell|get|",
        r"buy|bring|finish|merge|deploy)\b.+)"
    ))
});

static YOU_PRESENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^(?:and )?you ((?:[a-z]+) .+)"));

static FIRST_PERSON_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:^|[，,])([^，,。；]{0,10}?)我(?:这边|這邊|这里|這裡)?\s*((?:来|來|会|會|负责|負責|去|可以|再|",
        r"马上|馬上|稍后|稍後|今天|今晚|明天|这周|這週|下周|下週|周|週|星期|月底|就|跟|把|先).+)"
    ))
});

static LEADING_VERB_ZH: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:来|來|会|會|负责|負責|去|可以|再|马上|馬上|稍后|稍後|能|就|先)+"));

/// Connectives that may open a Chinese clause before its subject.
static CLAUSE_LEAD_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:[，,。；;\s]|那么|那麼|那|好的|好|请|請|就|然后|然後|还有|還有|另外|以及|和)*")
});

/// What may follow a name to give it work: "，你" and a verb of charge.
static CHARGE_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:[，,]\s*)?(?:你|您)?\s*(负责|負責|来|來|会|會|去|要|可以|在)?\s*")
});

static ACCEPT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:sure|yes|yeah|yep|yup|okay|ok|will do|no problem|of course|",
        r"absolutely|on it|i can|i will|i'll|i think so|definitely|got it|好|好的|可以|",
        r"沒問題|没问题|行|收到|OK)\b"
    ))
});

/// Verbs after "I'll" or "can you" that commit to no work.
const NON_COMMITTAL: [&str; 43] = [
    "be",
    "say",
    "admit",
    "bet",
    "guess",
    "think",
    "hear",
    "see",
    "imagine",
    "live",
    "understand",
    "just",
    "repeat",
    "believe",
    "agree",
    "wait",
    "pass",
    "stop",
    "leave",
    "try",
    "probably",
    "go",
    "do",
    "were",
    "are",
    "was",
    "know",
    "said",
    "mean",
    "look",
    "sound",
    "seem",
    "got",
    "guys",
    "already",
    "never",
    "always",
    "walk",
    "explain",
    "describe",
    "remind",
    "ran",
    "had",
];

/// Verbs of Chinese requests to speak now rather than to do work.
const SPEAK_NOW_ZH: [&str; 8] = ["说", "說", "讲", "講", "介绍", "介紹", "聊", "谈"];

/// Present-tense verbs that assign work in a recap ("Ravi does the
/// figure") even when the name was never addressed.
const ASSIGNING_VERBS: [&str; 20] = [
    "does", "takes", "owns", "handles", "covers", "drafts", "emails", "calls", "sends", "writes",
    "leads", "fixes", "tells", "checks", "asks", "makes", "updates", "prints", "orders", "books",
];

struct Found {
    item: ActionItem,
    terms: HashSet<String>,
}

/// Action items in order, each once, without the meeting's own running
/// and without bare pronoun tasks.
pub(crate) fn action_items(meeting: &Meeting<'_>) -> Vec<ActionItem> {
    let mut found: Vec<Found> = Vec::new();
    for (_, item) in sourced_items(meeting) {
        merge(&mut found, item);
    }
    found
        .into_iter()
        .map(|f| f.item)
        .filter(|item| vet::worth_showing(&item.task))
        .collect()
}

/// Every action item as found, before merging, with the sentence it was
/// found in.
pub(super) fn sourced_items(meeting: &Meeting<'_>) -> Vec<(usize, ActionItem)> {
    let mut out = Vec::new();
    let mut consumed: HashSet<usize> = HashSet::new();
    for i in 0..meeting.sentences.len() {
        if consumed.contains(&i) {
            continue;
        }
        if let Some((item, used)) = request(meeting, i) {
            consumed.extend(used);
            out.push((i, item));
            continue;
        }
        out.extend(sentence_items(meeting, i).into_iter().map(|item| (i, item)));
    }
    out
}

/// Diarization labels matched to names by the work they took on: S4 says
/// "I'll run the full regression pass" and someone else later says "Dana
/// runs regression", so S4 is Dana. Pairs come strongest evidence first;
/// a label that ever says the name is not that person.
pub(super) fn owners_by_commitment(meeting: &Meeting<'_>) -> Vec<(String, String)> {
    let found = sourced_items(meeting);
    let mut votes: HashMap<(String, String), usize> = HashMap::new();
    for (i, mine) in &found {
        let Some(label) = unnamed_committer(meeting, *i, mine) else {
            continue;
        };
        let my_terms: HashSet<String> = terms::terms(&mine.task).into_iter().collect();
        for (j, theirs) in &found {
            let Some(name) = theirs.owner.as_deref() else {
                continue;
            };
            let by = meeting.sentences[*j].speaker.as_deref();
            if by == Some(label) || by.is_none() || !meeting.plausible_owner(name) {
                continue;
            }
            let their_terms: HashSet<String> = terms::terms(&theirs.task).into_iter().collect();
            let shared = my_terms.intersection(&their_terms).count();
            if shared >= 2 && vet::same_work(&my_terms, &their_terms, &mine.task, &theirs.task) {
                *votes
                    .entry((label.to_owned(), name.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    votes.retain(|(label, name), _| !says_name(meeting, label, name));
    let mut ranked: Vec<((String, String), usize)> = votes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().map(|(pair, _)| pair).collect()
}

/// The label of a slot speaker who took on `item` in the first person.
fn unnamed_committer<'m>(meeting: &'m Meeting<'_>, i: usize, item: &ActionItem) -> Option<&'m str> {
    let label = meeting.sentences[i].speaker.as_deref()?;
    let first_person = item.owner.as_deref() == Some(label);
    (first_person && !super::people::is_person_label(label)).then_some(label)
}

fn says_name(meeting: &Meeting<'_>, label: &str, name: &str) -> bool {
    meeting
        .sentences
        .iter()
        .filter(|s| s.speaker.as_deref() == Some(label))
        .any(|s| {
            s.text
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == name)
        })
}

static OWNS_THAT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^({NAME}(?: and {NAME})?) (owns|handles|takes|does|covers|drives|leads) (?:that|this|it)\b(.*)$"
    ))
});

/// The work given in each clause of sentence `i`.
fn sentence_items(meeting: &Meeting<'_>, i: usize) -> Vec<ActionItem> {
    clause_items(meeting, i)
        .into_iter()
        .filter_map(|(_, item)| item)
        .collect()
}

/// Each clause of sentence `i` with the work it gives, if any. "Raj owns
/// that" takes its task from the clause before it.
pub(super) fn clause_items(meeting: &Meeting<'_>, i: usize) -> Vec<(String, Option<ActionItem>)> {
    let parts = clauses(meeting, &meeting.sentences[i].text);
    let mut out = Vec::new();
    for (k, clause) in parts.iter().enumerate() {
        let owned = match (OWNS_THAT.captures(clause), k.checked_sub(1)) {
            (Some(c), Some(before)) if meeting.plausible_owner(&c[1]) => {
                base_form(&c[2]).and_then(|verb| {
                    let task = format!("{verb} {}{}", lower_first(&parts[before]), &c[3]);
                    item(Some(c[1].to_owned()), &task)
                })
            }
            _ => None,
        };
        let work = owned.or_else(|| clause_item(meeting, i, clause));
        out.push((clause.clone(), work));
    }
    out
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        Some(c) => std::iter::once(c).chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether sentence `i` gives someone work (for telling a recap's
/// decisions from its assignments, and for scoring).
pub(crate) fn assigns_work(meeting: &Meeting<'_>, i: usize) -> bool {
    request(meeting, i).is_some() || !sentence_items(meeting, i).is_empty()
}

fn merge(found: &mut Vec<Found>, item: ActionItem) {
    let terms: HashSet<String> = terms::terms(&item.task).into_iter().collect();
    if terms.is_empty() {
        return;
    }
    let same = found.iter_mut().find(|f| {
        f.item.owner == item.owner && vet::same_work(&f.terms, &terms, &f.item.task, &item.task)
    });
    match same {
        Some(existing) => {
            if existing.item.due.is_none() {
                existing.item.due.clone_from(&item.due);
            }
            if terms.len() > existing.terms.len() {
                existing.item.task = item.task;
                existing.terms = terms;
            }
        }
        None => found.push(Found { item, terms }),
    }
}

/// A request in sentence `i` and the sentences its acceptance used up.
/// A request to a named person counts as given; one to nobody in
/// particular only when the next speaker accepts it (and becomes owner).
fn request(meeting: &Meeting<'_>, i: usize) -> Option<(ActionItem, Vec<usize>)> {
    let s = &meeting.sentences[i];
    let (named, task) = requested(meeting, s)?;
    if !commits(&task) {
        return None;
    }
    let reply = reply_to(meeting.sentences, i);
    let accepted = reply.is_some_and(|r| ACCEPT.is_match(&meeting.sentences[r].spoken));
    let owner = match (&named, reply) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(r)) if accepted => meeting.owner_label(&meeting.sentences[r]),
        _ => return None,
    };
    let mut item = item(owner, &task)?;
    let mut used = Vec::new();
    if let Some(r) = reply.filter(|_| accepted) {
        complete_from_reply(meeting, r, &mut item, &mut used);
    }
    Some((item, used))
}

fn requested(meeting: &Meeting<'_>, s: &Sentence) -> Option<(Option<String>, String)> {
    let text = s.text.as_str();
    let named = |c: Captures<'_>, name: usize, task: usize| {
        let who = c[name].to_owned();
        meeting
            .plausible_owner(&who)
            .then(|| (Some(who), c[task].to_owned()))
    };
    if let Some(found) = NAMED_REQUEST.captures(text).and_then(|c| named(c, 1, 2)) {
        return Some(found);
    }
    if let Some(found) = REQUEST_NAMED_LAST
        .captures(text)
        .and_then(|c| named(c, 2, 1))
    {
        return Some(found);
    }
    if let Some(c) = REQUEST_ZH.captures(text)
        && meeting.plausible_owner(&c[1])
        && !SPEAK_NOW_ZH
            .iter()
            .any(|v| c[2].trim_start().starts_with(v))
    {
        return Some((Some(c[1].to_owned()), c[2].to_owned()));
    }
    REQUEST
        .captures(text)
        .map(|c| (None, cut_at_new_subject(&c[1])))
}

/// An accepting reply may say when ("Yes, tomorrow morning.") and may
/// restate the task with a pronoun ("I'll post it in the channel"), which
/// then completes the request instead of standing alone.
fn complete_from_reply(
    meeting: &Meeting<'_>,
    r: usize,
    item: &mut ActionItem,
    used: &mut Vec<usize>,
) {
    let sentences = meeting.sentences;
    for j in (r..sentences.len()).take_while(|&j| sentences[j].turn == sentences[r].turn) {
        let said = &sentences[j].text;
        if item.due.is_none() {
            item.due = due::find(said).map(|(when, _)| when);
        }
        let Some(c) = FIRST_PERSON.captures(said) else {
            continue;
        };
        let (task, when) = split_due(&trim_task(&c[1]));
        if refers_back(&task) {
            if !is_do_pronoun(&task) {
                item.task = format!("{}; {}", item.task, task);
            }
            if item.due.is_none() {
                item.due = when;
            }
            used.push(j);
        }
    }
}

/// Whether a task points back with a pronoun ("post it in the channel").
fn refers_back(task: &str) -> bool {
    task.split_whitespace()
        .any(|w| matches!(w, "it" | "that" | "this" | "them" | "those"))
}

fn is_do_pronoun(task: &str) -> bool {
    matches!(task, "do it" | "do that" | "do this" | "do them")
}

fn reply_to(sentences: &[Sentence], i: usize) -> Option<usize> {
    let s = &sentences[i];
    let r = (i + 1..sentences.len()).find(|&j| sentences[j].turn != s.turn)?;
    (sentences[r].speaker.is_none() || sentences[r].speaker != s.speaker).then_some(r)
}

/// The work given in one clause of sentence `i`, if any.
fn clause_item(meeting: &Meeting<'_>, i: usize, clause: &str) -> Option<ActionItem> {
    let s = &meeting.sentences[i];
    let recap = meeting.in_recap(i);
    if let Some(c) = YOURS
        .captures(clause)
        .filter(|c| meeting.plausible_owner(&c[1]))
    {
        return item(Some(c[1].to_owned()), &format!("handle {}", &c[2]));
    }
    if s.question {
        return None;
    }
    if let Some(c) = ASSIGNED
        .captures(clause)
        .filter(|c| meeting.plausible_owner(&c[1]))
    {
        return commits(&c[2])
            .then(|| item(Some(c[1].to_owned()), &c[2]))
            .flatten();
    }
    if let Some(found) = assigned_present(meeting, clause, recap) {
        return Some(found);
    }
    if let Some(found) = chinese(meeting, s, clause) {
        return Some(found);
    }
    first_person(meeting, i, clause, recap)
}

fn assigned_present(meeting: &Meeting<'_>, clause: &str, recap: bool) -> Option<ActionItem> {
    let c = ASSIGNED_PRESENT.captures(clause)?;
    let (name, verb, object) = (&c[1], &c[2], &c[3]);
    if !meeting.plausible_owner(name) || starts_with_pronoun(object) {
        return None;
    }
    let plural = name.contains(" and ");
    let base = if plural {
        (!matches!(verb, "are" | "were" | "have" | "had" | "said" | "think"))
            .then(|| verb.to_owned())
    } else {
        base_form(verb)
    }?;
    let vouched = recap || meeting.people.is_known(name) || ASSIGNING_VERBS.contains(&verb);
    vouched
        .then(|| {
            item(
                Some(name.to_owned()),
                &format!("{base} {}", base_form_after_and(object)),
            )
        })
        .flatten()
}

fn first_person(meeting: &Meeting<'_>, i: usize, clause: &str, recap: bool) -> Option<ActionItem> {
    let s = &meeting.sentences[i];
    let owner = meeting.owner_label(s);
    if let Some(c) = FIRST_PERSON.captures(clause) {
        let task = c[1].to_owned();
        return commits(&task).then(|| item(owner, &task)).flatten();
    }
    if !recap {
        return None;
    }
    if let Some(c) = FIRST_PERSON_PRESENT.captures(clause) {
        return item(owner, &c[1]);
    }
    let c = YOU_PRESENT.captures(clause)?;
    let previous = (0..i)
        .rev()
        .find(|&j| meeting.sentences[j].speaker != s.speaker)
        .and_then(|j| meeting.owner_label(&meeting.sentences[j]))?;
    commits(&c[1])
        .then(|| item(Some(previous), &c[1]))
        .flatten()
}

fn chinese(meeting: &Meeting<'_>, s: &Sentence, clause: &str) -> Option<ActionItem> {
    if !clause.chars().any(is_han) {
        return None;
    }
    if let Some(c) = FIRST_PERSON_ZH.captures(clause) {
        let mut found = item(meeting.owner_label(s), &c[2])?;
        if found.due.is_none() {
            found.due = due::find(&c[1]).map(|(when, _)| when);
        }
        let task = LEADING_VERB_ZH.replace(&found.task, "").into_owned();
        let speaks_now = SPEAK_NOW_ZH.iter().any(|v| task.starts_with(v));
        return (!task.is_empty() && !speaks_now).then_some(ActionItem { task, ..found });
    }
    let body = CLAUSE_LEAD_ZH.replace(clause, "");
    let name = meeting.people.name_prefix(&body)?;
    let rest = &body[name.len()..];
    let charge = CHARGE_ZH.captures(rest)?;
    let after = rest[charge.get(0).map_or(0, |m| m.end())..].trim();
    let due_first = due::find(after).is_some_and(|(_, r)| r.start == 0);
    if charge.get(1).is_none() && !due_first {
        return None;
    }
    let found = item(Some(name), after)?;
    let task = LEADING_VERB_ZH.replace(&found.task, "").into_owned();
    (!task.is_empty()).then_some(ActionItem { task, ..found })
}

fn starts_with_pronoun(object: &str) -> bool {
    let first = object
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    matches!(
        first.as_str(),
        "its"
            | "it"
            | "that"
            | "this"
            | "his"
            | "her"
            | "their"
            | "not"
            | "well"
            | "so"
            | "a"
            | "very"
            | "really"
            | "too"
            | "also"
    )
}

fn commits(task: &str) -> bool {
    let first = task
        .split_whitespace()
        .next()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .unwrap_or_default();
    if first.is_empty() {
        return false;
    }
    let content = terms::terms(task).len();
    if vet::is_past(&first) {
        return false;
    }
    if matches!(first.as_str(), "do" | "go" | "just" | "take") {
        // "I'll do the figure" commits; "I'll do it" only points back.
        return content >= 2;
    }
    let tells_listener = first == "tell"
        && task
            .split_whitespace()
            .nth(1)
            .is_some_and(|w| matches!(w, "you" | "ya"));
    !NON_COMMITTAL.contains(&first.as_str()) && !tells_listener && content >= 1
}

fn item(owner: Option<String>, task: &str) -> Option<ActionItem> {
    let (task, due) = match split_due(&trim_task(task)) {
        (kept, None) => (kept, due_of_continuation(task)),
        found => found,
    };
    let han = task.chars().any(is_han);
    if task.split_whitespace().count() < 2 && !han {
        return None;
    }
    Some(ActionItem {
        owner: owner.map(|o| o.trim().to_owned()),
        task,
        due,
    })
}

fn split_due(task: &str) -> (String, Option<String>) {
    match due::find(task) {
        Some((when, range)) => {
            let rest = format!("{} {}", &task[..range.start], &task[range.end..]);
            (tidy_task(&rest), Some(when))
        }
        None => (task.to_owned(), None),
    }
}

fn tidy_task(task: &str) -> String {
    let tidied = tidy(task);
    let task = TASK_TAIL.replace(tidied.trim(), "");
    task.trim_matches(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .to_owned()
}

static TASK_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:,? (?:but|because|since|although|though|so that|if|unless)\b|[.?!;。？！；](?:\s|$)).*$",
    )
});

static TASK_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:[,\s]+(?:then|too|as well|anyway|okay|ok|right|please|for now|",
        r"and|so|or|yeah|obviously))+\s*$"
    ))
});

fn trim_task(task: &str) -> String {
    let task = cut_at_new_subject(task.trim());
    let task = TASK_END.replace(&task, "");
    let words: Vec<&str> = task.split_whitespace().take(30).collect();
    tidy_task(&spell_out(&words.join(" ")))
}

/// "send me the batch size you pick I want to watch ..." ends before the
/// unpunctuated new clause "I want to ..."; "make sure we have it" keeps
/// its clause, which "sure" introduces.
fn cut_at_new_subject(text: &str) -> String {
    static NEW_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
        re(concat!(
            r"(\S+)\s+(?:I|we|We)(?:'ll|'m|'d|\s+(?:want|need|think|will|can|do|don't|have|",
            r"just|also|am|would|guess|mean|know|feel|hope|was|had))\b"
        ))
    });
    const INTRODUCING: [&str; 13] = [
        "sure", "that", "if", "when", "until", "before", "after", "because", "whether", "how",
        "what", "once", "unless",
    ];
    let cut = NEW_SUBJECT
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .find(|before| {
            let word = before.as_str().trim_end_matches(',').to_lowercase();
            !INTRODUCING.contains(&word.as_str())
        });
    cut.map_or_else(|| text.to_owned(), |before| text[..before.end()].to_owned())
}

/// The due date of what the speaker goes on to say about the same work
/// after a task was cut at a new subject ("write the script and I'll dry
/// run it by Wednesday").
fn due_of_continuation(task: &str) -> Option<String> {
    let kept = cut_at_new_subject(task.trim());
    let rest = task.trim().get(kept.len()..)?;
    due::find(rest).map(|(when, _)| when)
}

/// Cut a sentence where a new subject takes over: "Dana runs regression
/// Monday, Leo does the notes by Monday and I talk to support today".
/// Unpunctuated ASR output gets the same cuts before a known name or "I"
/// followed by a verb; Chinese is cut at a comma before a name or 我.
pub(super) fn clauses(meeting: &Meeting<'_>, text: &str) -> Vec<String> {
    let cuts = if text.chars().any(is_han) {
        chinese_cuts(meeting, text)
    } else {
        english_cuts(meeting, text)
    };
    let mut bounds = vec![0];
    bounds.extend(cuts.into_iter().filter(|&c| c > 0));
    bounds.push(text.len());
    bounds.dedup();
    bounds
        .windows(2)
        .map(|w| {
            let piece = text[w[0]..w[1]]
                .trim_start_matches([',', ';', ':', ' ', '，', '；'])
                .trim_start_matches("and ")
                .trim_start_matches("then ")
                .trim();
            DANGLING.replace(piece, "").into_owned()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// A conjunction left at the end of a clause by the cut after it.
static DANGLING: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:,?\s+(?:and|then|or|but))+[,\s]*$|[,;:]\s*$"));

fn english_cuts(meeting: &Meeting<'_>, text: &str) -> Vec<usize> {
    static BOUNDARY: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"(?:[,;:]| and| then)? ({NAME}(?: and {NAME})?|I|you) "
        ))
    });
    // Matches are tried at every position, not just after the previous
    // one: "Monday Leo does" must still find "Leo" after "Monday Leo"
    // failed as a two-word name.
    let mut cuts = Vec::new();
    let mut at = 0;
    while let Some(c) = BOUNDARY.captures_at(text, at) {
        let Some(whole) = c.get(0) else { break };
        let next = text[whole.end()..].split_whitespace().next().unwrap_or("");
        let starts_clause = match &c[1] {
            "I" | "you" => is_verbish(next),
            name => meeting.plausible_owner(name) && is_verbish(next),
        };
        // "Emma and Tom put ..." is one subject, not a cut before "Tom".
        let before: Vec<&str> = text[..whole.start()]
            .split_whitespace()
            .rev()
            .take(2)
            .collect();
        let joins_names = match before.as_slice() {
            [last, ..] if whole.as_str().starts_with(" and") => meeting.plausible_owner(last),
            ["and", name, ..] => meeting.plausible_owner(name),
            _ => false,
        };
        // "... if Dana signs off" is a condition, not work given to Dana.
        let subordinate = before
            .first()
            .is_some_and(|w| SUBORDINATORS.contains(&w.to_lowercase().as_str()));
        if starts_clause && !joins_names && !subordinate {
            cuts.push(whole.start());
            at = whole.end();
        } else {
            at = text[whole.start()..]
                .char_indices()
                .nth(1)
                .map_or(text.len(), |(k, _)| whole.start() + k);
        }
    }
    cuts
}

/// Words that make the clause after them a condition or a reason.
const SUBORDINATORS: [&str; 10] = [
    "if", "unless", "when", "whenever", "once", "until", "because", "since", "whether", "after",
];

fn chinese_cuts(meeting: &Meeting<'_>, text: &str) -> Vec<usize> {
    text.char_indices()
        .filter(|(_, c)| matches!(c, '，' | ',' | '；' | ';'))
        .filter_map(|(i, c)| {
            let after = &text[i + c.len_utf8()..];
            let body = CLAUSE_LEAD_ZH.replace(after, "");
            let me =
                body.starts_with('我') && !body.starts_with("我们") && !body.starts_with("我們");
            (me || meeting.people.name_prefix(&body).is_some()).then_some(i)
        })
        .collect()
}

fn is_verbish(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase();
    w.ends_with('s')
        || matches!(
            w.as_str(),
            "will"
                | "'ll"
                | "can"
                | "do"
                | "take"
                | "talk"
                | "write"
                | "send"
                | "run"
                | "fix"
                | "put"
                | "add"
                | "handle"
                | "own"
                | "check"
                | "call"
                | "email"
                | "draft"
                | "make"
                | "update"
                | "set"
                | "move"
                | "convert"
                | "prepare"
                | "review"
                | "test"
                | "pilot"
                | "open"
                | "ask"
                | "tell"
                | "need"
                | "have"
                | "should"
                | "must"
        )
}

/// "marketing and writes the workaround" -> "marketing and write the
/// workaround": a recap lists several present-tense verbs for one owner.
fn base_form_after_and(task: &str) -> String {
    static AND_VERB: LazyLock<Regex> = LazyLock::new(|| re(r"\b(and|,) ([a-z]+s)\b"));
    AND_VERB
        .replace_all(task, |c: &Captures<'_>| {
            let verb = &c[2];
            let known = ASSIGNING_VERBS.contains(&verb)
                || [
                    "adds",
                    "rehearses",
                    "reports",
                    "briefs",
                    "sets",
                    "runs",
                    "puts",
                    "moves",
                ]
                .contains(&verb);
            match known.then(|| base_form(verb)).flatten() {
                Some(base) => format!("{} {base}", &c[1]),
                None => c[0].to_owned(),
            }
        })
        .into_owned()
}

/// The base form of a third-person verb ("fixes" -> "fix"), or `None` for
/// verbs that describe rather than commit ("seems", "likes").
fn base_form(verb: &str) -> Option<String> {
    const DESCRIBING: [&str; 18] = [
        "is", "was", "has", "says", "thinks", "seems", "looks", "sounds", "likes", "wants",
        "knows", "means", "feels", "goes", "comes", "loves", "uses", "gets",
    ];
    if DESCRIBING.contains(&verb) || verb.len() < 4 || !verb.ends_with('s') {
        return None;
    }
    let base = match verb {
        "does" => "do".to_owned(),
        v if v.ends_with("ies") => format!("{}y", &v[..v.len() - 3]),
        v if ["ches", "shes", "sses", "xes", "zes"]
            .iter()
            .any(|e| v.ends_with(e)) =>
        {
            v[..v.len() - 2].to_owned()
        }
        v => v[..v.len() - 1].to_owned(),
    };
    Some(base)
}
