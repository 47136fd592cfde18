//! Decisions and action items by rule, deterministic and offline.
//!
//! | module | role |
//! | --- | --- |
//! | [`people`] | which words are names; which person each speaker label is |
//! | [`decisions`] | settling phrases, anaphora ("let's do that"), recap statements |
//! | [`actions`] | requests, commitments, assignments, due dates |
//! | [`vet`] | which action items are worth showing, and which are one |

mod actions;
mod decisions;
mod people;
mod vet;

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

pub(crate) use self::decisions::is_decision;
use self::people::People;
use super::Sentence;
use crate::summary::ActionItem;

fn re(pattern: &str) -> Regex {
    // The patterns are literals in these modules, exercised by their tests.
    Regex::new(pattern).expect("static pattern compiles")
}

/// "Let me recap", "to sum up", "我总结一下": what follows restates the
/// meeting's outcomes.
static RECAP: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(?:let me (?:just |quickly )?(?:recap|summari[sz]e|go over)|",
        r"(?:just )?to (?:just )?go over (?:it|that|what we (?:said|decided))|",
        r"to recap|quick recap|recap:|(?:so )?to summari[sz]e|in summary|",
        r"to sum up|let me sum up|before i recap)\b|总结一下|總結一下|我总结|我總結|回顾一下|回顧一下|",
        r"整理一下"
    ))
});

/// Turns after the recap marker that may still belong to the recap.
const RECAP_TURNS: usize = 40;
/// Longest interjection ("Yes.", "And the manifest owners.") by someone
/// else that does not end a recap.
const INTERJECTION_WORDS: usize = 12;

/// A transcript's sentences with what the rules need to know about them.
pub(crate) struct Meeting<'a> {
    sentences: &'a [Sentence],
    people: People,
    recap: Vec<bool>,
}

impl<'a> Meeting<'a> {
    /// Read the people and the recap out of `sentences`.
    pub(crate) fn new(sentences: &'a [Sentence]) -> Self {
        let mut meeting = Meeting {
            people: People::infer(sentences),
            recap: recap_flags(sentences),
            sentences,
        };
        for (label, name) in actions::owners_by_commitment(&meeting) {
            meeting.people.adopt(&label, &name);
        }
        meeting
    }

    /// Decisions, in order, each once.
    pub(crate) fn decisions(&self) -> Vec<String> {
        decisions::decisions(self)
    }

    /// Action items, in order, each once.
    pub(crate) fn action_items(&self) -> Vec<ActionItem> {
        actions::action_items(self)
    }

    /// Whether sentence `i` commits someone to work.
    pub(crate) fn assigns_work(&self, i: usize) -> bool {
        actions::assigns_work(self, i)
    }

    /// Everyone known by name.
    pub(crate) fn names(&self) -> &HashSet<String> {
        self.people.known()
    }

    /// Whether sentence `i` restates the meeting's outcomes.
    pub(crate) fn in_recap(&self, i: usize) -> bool {
        self.recap[i]
    }

    fn plausible_owner(&self, name: &str) -> bool {
        self.people.plausible(name)
    }

    /// The reported owner for something said by `s`'s speaker.
    fn owner_label(&self, s: &Sentence) -> Option<String> {
        s.speaker.as_deref().map(|l| self.people.name_of(l))
    }
}

/// Which sentences restate outcomes: everything after a recap marker,
/// through the recapping speaker's later turns, until someone else says
/// more than a short confirmation.
fn recap_flags(sentences: &[Sentence]) -> Vec<bool> {
    let mut flags = vec![false; sentences.len()];
    let Some(start) = sentences.iter().rposition(|s| RECAP.is_match(&s.spoken)) else {
        return flags;
    };
    let marker = &sentences[start];
    let turn_words = |turn: usize| -> usize {
        sentences
            .iter()
            .filter(|s| s.turn == turn)
            .map(|s| s.spoken.split_whitespace().count())
            .sum()
    };
    for j in start + 1..sentences.len() {
        let s = &sentences[j];
        let interjection = s.speaker != marker.speaker && s.turn != marker.turn;
        if s.turn > marker.turn + RECAP_TURNS
            || (interjection && turn_words(s.turn) > INTERJECTION_WORDS)
        {
            break;
        }
        flags[j] = true;
    }
    flags
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Whether `text` says when.
pub(crate) fn has_due(text: &str) -> bool {
    super::due::find(text).is_some()
}

#[cfg(test)]
mod tests;
