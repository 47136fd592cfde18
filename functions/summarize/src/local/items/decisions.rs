//! Decisions: sentences that settle something ("we agreed", "let's go
//! with", "decision:", "就这么定了"), and the plain statements of a recap.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::{Meeting, jaccard, re};
use crate::local::clean::{spell_out, written_sentence};
use crate::local::{Sentence, terms};

/// Phrases that settle something, in English.
const SETTLING: [&str; 13] = [
    r"we(?:'ve| have)? (?:all |just )?(?:agreed|decided|settled on|voted)",
    r"we(?:'re| are) (?:all )?agreed|so we agree",
    r"(?:it|that)(?:'s| is) (?:decided|settled|agreed|final)",
    r"(?:the|final|our) decision is|that(?:'s| is) the (?:decision|plan)|(?:two|three|four|some) decisions",
    r"^(?:so )?decision\b|\bdecision(?: then)?:",
    r"we(?:'re| are) going with|we(?:'re| are) (?:going to|gonna) go with|(?:we'll|we will) go with",
    r"we(?:'re| are) doing\b",
    r"motion (?:passes|carries)|that passes|(?:is|was|got) approved|signed off",
    r"the rule is\b",
    r"(?:we'll|we will|we(?:'re| are) going to|we(?:'re| are) gonna) (?:ship|launch|use|keep|stick with|switch|drop|move|hold|cap|release|submit|file|buy|trial|go ahead|postpone|delay|cancel|hire|skip|adopt|change)\b",
    r"let's say that(?:'s| is) the plan",
    r"we(?:'ll| will) keep\b",
    r"(?:it's|it is|that's|that is) approved",
];

static DECISION: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)(?:{})", SETTLING.join("|"))));

static LETS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\blet(?:'s| us) (\w+)(?: (\w+))?"));

/// Verbs after "let's" that organise the talk rather than settle anything.
const TALK_VERBS: [&str; 24] = [
    "talk",
    "move",
    "try",
    "decide",
    "continue",
    "start",
    "get",
    "see",
    "figure",
    "think",
    "discuss",
    "recap",
    "summarize",
    "wrap",
    "begin",
    "hear",
    "look",
    "check",
    "just",
    "say",
    "go",
    "circle",
    "take",
    "come",
];

/// Phrases that settle something, in Chinese. 确定 alone is an adjective
/// ("a definite date"), so only its settled forms count.
static DECISION_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"决定|決定|定了|就这么办|就這麼辦|就这样吧|就這樣吧|确定了|確定了|敲定|拍板|通过了|通過了|",
        r"大家(?:都)?同意|^那\s*(?:就)?\s*(?:先|用|按|改|推迟|推遲|延后|延後|放|定|上线|上線|发布|發布)|",
        r"^那.{0,24}?(?:推迟|推遲|延后|延後|改到|改成|先开|先開|先上|先用)|",
        r"我们(?:就)?(?:用|采用|选|改用|保留|先用)|我們(?:就)?(?:用|採用|選|改用|保留|先用)"
    ))
});

static NOT_SETTLED: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(?:not|haven't|hasn't|didn't|never|nobody|no one)\b[\w\s']{0,20}\b(?:decided|agreed|settled|final)\b",
        r"|\b(?:if|whether|unless|maybe)\b|还没|還沒|没有决定|沒有決定|不同意|要不要|是否|需要决定|需要決定"
    ))
});

/// Stems that mark a decision without saying what it is.
const MARKER_TERMS: [&str; 12] = [
    "decision", "decid", "agre", "plan", "settl", "rule", "two", "three", "final", "pass",
    "approv", "do",
];

/// Whether `s` settles something by its wording alone.
pub(crate) fn is_decision(s: &Sentence) -> bool {
    if s.question || NOT_SETTLED.is_match(&s.text) {
        return false;
    }
    DECISION.is_match(&s.text) || DECISION_ZH.is_match(&s.text) || lets_settles(&s.text)
}

fn lets_settles(text: &str) -> bool {
    LETS.captures_iter(text).any(|c| {
        let verb = c[1].to_lowercase();
        let next = c.get(2).map(|m| m.as_str().to_lowercase());
        let organises = TALK_VERBS.contains(&verb.as_str())
            && !(verb == "go" && next.as_deref() == Some("with"));
        let vague_do = verb == "do" && matches!(next.as_deref(), Some("it" | "that" | "this"));
        let intent = verb == "not" || (verb == "make" && next.as_deref() == Some("sure"));
        !organises && !vague_do && !intent && !AGENDA_NOW.is_match(text)
    })
}

/// "Let's do the upgrade now": moving to a topic, not settling it.
static AGENDA_NOW: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:now|next|first)(?: then)?[.!]?$"));

/// Decisions in order, each once. A marker that says nothing itself
/// ("Let's do that.", "So two decisions there.") stands for what it
/// points at; in a recap, every clause that assigns no work is a
/// decision; so is the statement that closes a meeting.
pub(crate) fn decisions(meeting: &Meeting<'_>) -> Vec<String> {
    let sentences = meeting.sentences;
    let mut out: Vec<(String, HashSet<String>)> = Vec::new();
    for i in 0..sentences.len() {
        let s = &sentences[i];
        let recapped = meeting.in_recap(i) && !s.question;
        if is_decision(s) && !recapped {
            if let Some(source) = substantive(sentences, i) {
                push_unique(&mut out, &sentences[source].text);
            }
        } else if let Some(source) = accepted_proposal(sentences, i) {
            push_unique(&mut out, &sentences[source].text);
        } else if recapped {
            for (clause, work) in super::actions::clause_items(meeting, i) {
                let statement = clause.split_whitespace().count() >= 4
                    && terms::terms(&clause).len() >= 3
                    && work.is_none()
                    && !CLOSING.is_match(&clause);
                if statement {
                    push_unique(&mut out, &written_sentence(&clause));
                }
            }
        } else if closes_meeting(sentences, i) {
            push_unique(&mut out, &s.text);
        }
    }
    out.into_iter().map(|(text, _)| text).collect()
}

/// Acceptance of what was just proposed ("I can live with that.", "Yeah,
/// that works.").
static ACCEPTANCE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:(?:yeah|yes|okay|ok|sure|fine|great|",
        r"good),? )*(?:i can live with (?:that|it)|that works(?: for me)?|",
        r"works for me|fine by me|i(?:'m| am) fine with (?:that|it)|i like (?:it|",
        r"that)|sounds good(?: to me)?|makes sense|no objection)\b"
    ))
});

/// "We plan thirty-one points next sprint": a plan stated as settled.
static SO_WE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:okay,? |ok,? )?so,? we (?:plan|go|do|use|keep|ship|move|take|",
        r"add|make|run|report|release|launch|switch|drop|cap|buy|hold|file|book|",
        r"hire|start|stop|skip|submit|turn|put)\b"
    ))
});

/// The proposal sentence `i` accepts: the statement just before the
/// acceptance in the same turn, or the last statement of the turn before
/// (nothing, when that turn itself only agreed or settled); or `i` itself
/// when it states the plan with "so we ...".
fn accepted_proposal(sentences: &[Sentence], i: usize) -> Option<usize> {
    let s = &sentences[i];
    if s.question || NOT_SETTLED.is_match(&s.spoken) {
        return None;
    }
    if SO_WE.is_match(&s.spoken) && s.terms.len() >= 3 {
        return Some(i);
    }
    if !ACCEPTANCE.is_match(&s.text) {
        return None;
    }
    let statement = |j: &usize| !sentences[*j].question && sentences[*j].terms.len() >= 3;
    let same_turn = (0..i).rev().take_while(|&j| sentences[j].turn == s.turn);
    if let Some(j) = same_turn.clone().find(statement) {
        return Some(j);
    }
    let previous_turn = same_turn.last().unwrap_or(i).checked_sub(1)?;
    let turn = sentences[previous_turn].turn;
    let spoken: Vec<usize> = (0..=previous_turn)
        .rev()
        .take_while(|&j| sentences[j].turn == turn)
        .collect();
    let settled = spoken
        .iter()
        .any(|&j| is_decision(&sentences[j]) || ACCEPTANCE.is_match(&sentences[j].text));
    if settled {
        return None;
    }
    spoken.into_iter().find(statement)
}

/// Formulas that end a meeting.
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(?:thanks?,? (?:you )?(?:everyone|everybody|all|guys|folks)|",
        r"thank you all|(?:meeting|we're) adjourned|see you (?:all|next|then|in)|",
        r"that's (?:it|all) for today|let's wrap)\b|谢谢大家|謝謝大家|今天就到这里|今天就到這裡|散会|散會"
    ))
});

/// A statement made right before the closing formula, in the same turn:
/// the last word on something ("Okay, Marcus is on call for release
/// week. Thanks everyone.").
fn closes_meeting(sentences: &[Sentence], i: usize) -> bool {
    let s = &sentences[i];
    let next_closes = sentences
        .get(i + 1)
        .is_some_and(|n| n.turn == s.turn && CLOSING.is_match(&n.spoken));
    next_closes && !s.question && s.terms.len() >= 3 && !CLOSING.is_match(&s.spoken)
}

/// `i` itself when it says what was settled; otherwise what it points
/// at: the rest of the same turn, or failing that the nearest earlier
/// statement.
fn substantive(sentences: &[Sentence], i: usize) -> Option<usize> {
    let content = |j: usize| {
        sentences[j]
            .terms
            .iter()
            .filter(|t| !MARKER_TERMS.contains(&t.as_str()))
            .count()
    };
    if content(i) >= 2 {
        return Some(i);
    }
    let says_enough = |j: &usize| !sentences[*j].question && content(*j) >= 3;
    let same_turn = (i + 1..sentences.len().min(i + 3))
        .take_while(|&j| sentences[j].turn == sentences[i].turn)
        .find(says_enough);
    same_turn.or_else(|| (i.saturating_sub(6)..i).rev().find(says_enough))
}

fn push_unique(out: &mut Vec<(String, HashSet<String>)>, text: &str) {
    let terms: HashSet<String> = terms::terms(text).into_iter().collect();
    let text = spell_out(text);
    match out.iter_mut().find(|(_, t)| jaccard(t, &terms) >= 0.5) {
        Some(existing) if existing.1.len() < terms.len() => *existing = (text, terms),
        Some(_) => {}
        None => out.push((text, terms)),
    }
}
