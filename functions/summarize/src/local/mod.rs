//! The extractive summarizer: deterministic, on-box, English and Mandarin.
//!
//! Phases: clean each turn ([`clean`]), cut it into sentences, at spoken
//! boundaries where the recognizer left no punctuation ([`split`]), write
//! each as a sentence ([`clean`] again), index their
//! terms ([`terms`]), score salience as centrality in a TF-IDF similarity
//! graph plus topic-word weight plus decision and action cues ([`rank`]),
//! pick sentences under the word budget with a redundancy penalty, and
//! read decisions and action items off the sentences by rule ([`items`],
//! [`due`]).

mod clean;
mod due;
mod items;
mod rank;
mod split;
mod terms;

use std::collections::HashSet;

use crate::settings::LocalSettings;
use crate::summary::{Summary, count_words, is_han};
use crate::transcript::Transcript;

/// The engine name stored with local summaries.
pub const ENGINE: &str = "local-extractive/1";

/// One cleaned sentence of the transcript.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    /// Index of the turn it came from.
    pub(crate) turn: usize,
    /// That turn's speaker.
    pub(crate) speaker: Option<String>,
    /// As said, fillers removed ("Sure, tomorrow.").
    pub(crate) spoken: String,
    /// As written: openers off, capitalised ("Tomorrow.").
    pub(crate) text: String,
    /// Index terms of `text`.
    pub(crate) terms: Vec<String>,
    /// Whether it asks something.
    pub(crate) question: bool,
}

/// Split every turn into cleaned sentences, in order.
pub(crate) fn sentences_of(transcript: &Transcript) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (turn, t) in transcript.turns.iter().enumerate() {
        let cleaned = clean::clean_turn(&t.text);
        for spoken in split::sentences(&cleaned) {
            let mut text = clean::written_sentence(&spoken);
            if text.chars().all(|c| !c.is_alphanumeric()) {
                continue;
            }
            if split::asks(&spoken) && text.ends_with('.') {
                text.pop();
                text.push('?');
            }
            out.push(Sentence {
                turn,
                speaker: t.speaker.clone(),
                terms: terms::terms(&text),
                question: is_question(&text),
                spoken,
                text,
            });
        }
    }
    out
}

fn is_question(text: &str) -> bool {
    let t = text.trim_end_matches(['.', '。']);
    t.ends_with('?') || t.ends_with('？') || t.ends_with('嗎') || t.ends_with('吗')
}

/// The extractive summarizer.
#[derive(Debug, Clone, Default)]
pub struct LocalSummarizer {
    settings: LocalSettings,
}

impl LocalSummarizer {
    /// A summarizer with `settings`.
    pub fn new(settings: LocalSettings) -> Self {
        LocalSummarizer { settings }
    }

    /// Summarize `transcript` within the word budget.
    pub fn summarize(&self, transcript: &Transcript) -> Summary {
        let sentences = sentences_of(transcript);
        let meeting = items::Meeting::new(&sentences);
        let scored = Scored::new(&sentences, &meeting);
        let chosen = scored.select(self.settings.words);

        let summary = join(chosen.iter().map(|&i| clean::spell_out(&sentences[i].text)));
        let key_points = scored
            .top(&chosen, self.settings.key_points)
            .into_iter()
            .map(|i| clean::spell_out(&sentences[i].text))
            .collect();
        Summary {
            words: count_words(&summary),
            summary,
            key_points,
            decisions: meeting.decisions(),
            action_items: meeting.action_items(),
            engine: ENGINE.to_owned(),
        }
    }
}

/// Join sentences with a space, except between Chinese ones.
fn join(parts: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for part in parts {
        let glue = out
            .chars()
            .last()
            .is_some_and(|c| !is_han(c) && !"。！？".contains(c))
            || part.chars().next().is_some_and(|c| c.is_ascii());
        if !out.is_empty() && glue {
            out.push(' ');
        }
        out.push_str(&part);
    }
    out
}

/// Salience of every sentence, and the similarity data selection needs.
struct Scored<'a> {
    sentences: &'a [Sentence],
    /// Indexes of the sentences worth considering.
    candidates: Vec<usize>,
    /// Score per candidate (same order as `candidates`).
    scores: Vec<f64>,
    vectors: Vec<rank::Vector>,
    words: Vec<usize>,
}

/// Fewest index terms a sentence needs to be considered at all; below it
/// are backchannels ("Yeah, exactly.") and fragments.
const MIN_TERMS: usize = 3;

impl<'a> Scored<'a> {
    fn new(sentences: &'a [Sentence], meeting: &items::Meeting<'_>) -> Self {
        let candidates: Vec<usize> = (0..sentences.len())
            .filter(|&i| sentences[i].terms.len() >= MIN_TERMS)
            .collect();
        let docs: Vec<Vec<String>> = candidates
            .iter()
            .map(|&i| sentences[i].terms.clone())
            .collect();
        let model = rank::Model::fit(&docs);
        let vectors: Vec<rank::Vector> = docs.iter().map(|d| model.vector(d)).collect();
        let words = candidates
            .iter()
            .map(|&i| count_words(&clean::spell_out(&sentences[i].text)).max(1))
            .collect();
        let mut scored = Scored {
            sentences,
            candidates,
            scores: Vec::new(),
            vectors,
            words,
        };
        scored.scores = scored.salience(&model, meeting);
        scored
    }

    fn salience(&self, model: &rank::Model, meeting: &items::Meeting<'_>) -> Vec<f64> {
        let central = rank::normalise(&rank::centrality(&self.vectors, 0.1));
        let topical: Vec<f64> = self
            .candidates
            .iter()
            .zip(&self.words)
            .map(|(&i, &w)| topic_density(model, &self.sentences[i].terms, w))
            .collect();
        let topical = rank::normalise(&topical);
        (0..self.candidates.len())
            .map(|k| {
                let i = self.candidates[k];
                let s = &self.sentences[i];
                let base = 0.45 * central[k] + 0.55 * topical[k] + cues(meeting, i, s);
                base * shape(s, self.words[k])
            })
            .collect()
    }

    /// Greedy selection under the word budget: the best score per word,
    /// less its similarity to what is already chosen, until nothing fits.
    fn select(&self, budget: usize) -> Vec<usize> {
        let mut chosen: Vec<usize> = Vec::new();
        let mut used = 0;
        let mut left: HashSet<usize> = (0..self.candidates.len()).collect();
        while let Some(k) = self.best_next(&chosen, &left, budget - used) {
            used += self.words[k];
            left.remove(&k);
            chosen.push(k);
        }
        let mut picked: Vec<usize> = chosen.into_iter().map(|k| self.candidates[k]).collect();
        picked.sort_unstable();
        picked
    }

    fn best_next(&self, chosen: &[usize], left: &HashSet<usize>, room: usize) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for &k in left {
            if self.words[k] > room {
                continue;
            }
            let overlap = chosen
                .iter()
                .map(|&c| rank::cosine(&self.vectors[k], &self.vectors[c]))
                .fold(0.0, f64::max);
            if overlap >= DUPLICATE {
                continue;
            }
            let gain = self.scores[k] * (1.0 - REDUNDANCY * overlap);
            let value = gain / (self.words[k] as f64).powf(LENGTH_EXPONENT);
            let better = best.is_none_or(|(b, v)| value > v || (value == v && k < b));
            if gain > 0.0 && better {
                best = Some((k, value));
            }
        }
        best.map(|(k, _)| k)
    }

    /// The `n` best-scoring sentences among `chosen`, in transcript order.
    fn top(&self, chosen: &[usize], n: usize) -> Vec<usize> {
        let mut ranked: Vec<(usize, f64)> = chosen
            .iter()
            .filter_map(|&i| {
                let k = self.candidates.iter().position(|&c| c == i)?;
                Some((i, self.scores[k]))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut top: Vec<usize> = ranked.into_iter().take(n).map(|(i, _)| i).collect();
        top.sort_unstable();
        top
    }
}

/// How strongly similarity to chosen sentences cuts a sentence's gain.
const REDUNDANCY: f64 = 0.7;
/// Similarity at which a sentence repeats one already chosen.
const DUPLICATE: f64 = 0.8;
/// Cost exponent of length: 0 picks by score alone, 1 by score per word.
const LENGTH_EXPONENT: f64 = 0.5;

/// Topic-word weight per square root of length: long sentences must carry
/// proportionally more of the meeting's vocabulary.
fn topic_density(model: &rank::Model, terms: &[String], words: usize) -> f64 {
    let distinct: HashSet<&String> = terms.iter().collect();
    let weight: f64 = distinct.iter().map(|t| model.topic_weight(t)).sum();
    weight / (words as f64).sqrt()
}

/// Bonuses for what summaries report: decisions, commitments, figures and
/// dates (in digits or in words, as recognizers write them), people, and
/// the recap that restates the outcome.
fn cues(meeting: &items::Meeting<'_>, i: usize, s: &Sentence) -> f64 {
    let mut bonus = 0.0;
    if items::is_decision(s) {
        bonus += 0.25;
    }
    if meeting.assigns_work(i) {
        bonus += 0.2;
    }
    if says_amount(&s.text) || items::has_due(&s.text) {
        bonus += 0.05;
    }
    if meeting.in_recap(i) {
        bonus += 0.15;
    }
    if meeting.names().iter().any(|n| s.text.contains(n.as_str())) {
        bonus += 0.05;
    }
    bonus
}

/// Whether `text` gives a figure, in digits or in words ("sixty euros").
fn says_amount(text: &str) -> bool {
    // "One" is left out: it is more often a pronoun than a figure.
    const AMOUNTS: [&str; 23] = [
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
        "hundred", "thousand", "million",
    ];
    text.chars().any(|c| c.is_ascii_digit())
        || text
            .split(|c: char| !c.is_alphabetic())
            .any(|w| AMOUNTS.iter().any(|a| w.eq_ignore_ascii_case(a)))
}

/// Penalties for shapes summaries avoid: questions, fragments, rambles.
fn shape(s: &Sentence, words: usize) -> f64 {
    let mut factor = 1.0;
    if s.question {
        factor *= 0.35;
    }
    if words < 6 {
        factor *= 0.6;
    }
    if words > 35 {
        factor *= 35.0 / words as f64;
    }
    factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_stays_within_the_word_budget() {
        let text = "We need to pick a vendor for the payroll system this quarter.\n".repeat(3)
            + &"The payroll vendor must support contractors in three countries.\n".repeat(3)
            + "Yeah.\nOkay.\n";
        let summarizer = LocalSummarizer::new(LocalSettings {
            words: 15,
            key_points: 2,
        });
        let s = summarizer.summarize(&Transcript::from_text(&text));
        assert!(s.words <= 15 && s.words > 0, "{s:?}");
        assert_eq!(s.words, count_words(&s.summary));
        assert!(!s.summary.contains("Yeah"));
    }

    #[test]
    fn unpunctuated_lower_case_turns_read_as_written_sentences() {
        let text = "A: okay um so the the remote should have a a rubber case because \
                    people drop it all the time and i think the battery should last a year\n\
                    B: mm-hmm\nC: yeah\nD: uh-huh\n\
                    B: yeah so i'll check the price of the rubber case with the factory \
                    and then we we compare it with plastic\n\
                    A: right\nC: can we afford a colour screen on the remote\n\
                    D: no the screen costs too much so we go with the rubber case and the \
                    big buttons\n";
        let summarizer = LocalSummarizer::new(LocalSettings {
            words: 60,
            key_points: 2,
        });
        let s = summarizer.summarize(&Transcript::from_text(text));
        let units: Vec<&str> = s
            .summary
            .split_inclusive(['.', '?'])
            .map(str::trim)
            .collect();
        assert!(units.len() >= 3, "{s:?}");
        for unit in &units {
            assert!(unit.starts_with(char::is_uppercase), "{unit:?} in {s:?}");
            assert!(unit.split_whitespace().count() >= 4, "{unit:?} in {s:?}");
        }
        let lower = format!(" {} ", s.summary.to_lowercase());
        for spoken in [" um ", " uh ", "mm-hmm", "uh-huh", " the the ", " we we "] {
            assert!(!lower.contains(spoken), "{spoken:?} in {s:?}");
        }
        assert!(!s.summary.contains(" i "), "{s:?}");
        assert!(
            s.summary
                .contains("Can we afford a colour screen on the remote?"),
            "{s:?}"
        );
    }

    #[test]
    fn chinese_sentences_join_without_spaces() {
        let joined = join(["我們決定了。".to_owned(), "下週上線。".to_owned()].into_iter());
        assert_eq!(joined, "我們決定了。下週上線。");
        assert_eq!(
            join(["One.".to_owned(), "Two.".to_owned()].into_iter()),
            "One. Two."
        );
    }
}
