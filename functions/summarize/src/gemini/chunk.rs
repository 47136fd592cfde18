//! Cutting a long transcript into prompt-sized chunks on turn boundaries.

use crate::transcript::Turn;

/// Approximate model tokens in `text`: about four characters per token for
/// alphabetic scripts, about one per character for Han and other
/// non-ASCII text (a deliberate over-estimate, so chunks stay inside the
/// window).
pub(crate) fn estimate_tokens(text: &str) -> usize {
    let (ascii, other) = text.chars().fold((0usize, 0usize), |(a, o), c| {
        if c.is_ascii() { (a + 1, o) } else { (a, o + 1) }
    });
    ascii.div_ceil(4) + other
}

/// `Speaker: text` lines grouped into chunks of at most about `budget`
/// tokens each. Turns are never split unless one alone is over budget;
/// then it is cut between sentences, or between characters as a last
/// resort.
pub(crate) fn chunks(turns: &[Turn], budget: usize) -> Vec<String> {
    let budget = budget.max(1);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for line in turns.iter().flat_map(|t| pieces(t, budget)) {
        let cost = estimate_tokens(&line) + 1;
        if used + cost > budget && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push_str(&line);
        current.push('\n');
        used += cost;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One turn as lines that each fit the budget.
fn pieces(turn: &Turn, budget: usize) -> Vec<String> {
    let prefix = turn
        .speaker
        .as_deref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    let line = format!("{prefix}{}", turn.text.trim());
    if estimate_tokens(&line) < budget {
        return vec![line];
    }
    let room = budget.saturating_sub(estimate_tokens(&prefix)).max(1);
    pack(&sentences(&turn.text), room)
        .into_iter()
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if matches!(c, '。' | '！' | '？' | '.' | '!' | '?') {
            out.push(std::mem::take(&mut current));
        }
    }
    out.push(current);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// Greedily pack `parts` into strings of at most `room` tokens, cutting
/// any single part that is longer by characters.
fn pack(parts: &[String], room: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for part in parts.iter().flat_map(|p| cut(p, room)) {
        if estimate_tokens(&current) + estimate_tokens(&part) > room && !current.is_empty() {
            out.push(std::mem::take(&mut current).trim().to_owned());
        }
        current.push_str(&part);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

fn cut(part: &str, room: usize) -> Vec<String> {
    if estimate_tokens(part) <= room {
        return vec![part.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut ascii, mut other) = (0usize, 0usize);
    for c in part.chars() {
        let (a, o) = if c.is_ascii() {
            (ascii + 1, other)
        } else {
            (ascii, other + 1)
        };
        if a.div_ceil(4) + o > room && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            (ascii, other) = (0, 0);
        }
        current.push(c);
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_estimated_by_script() {
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("我們決定"), 4);
    }

    #[test]
    fn chunks_break_between_turns_within_budget() {
        let turns: Vec<Turn> = (0..10)
            .map(|i| Turn::new(Some("A"), format!("turn number {i} says a few words")))
            .collect();
        let chunks = chunks(&turns, 30);
        assert!(chunks.len() > 1);
        for chunk in &chunks {
            assert!(
                estimate_tokens(chunk) <= 30 + chunk.lines().count(),
                "{chunk}"
            );
            assert!(
                chunk.lines().all(|l| l.starts_with("A: turn number")),
                "{chunk}"
            );
        }
        let rejoined: Vec<&str> = chunks.iter().flat_map(|c| c.lines()).collect();
        assert_eq!(rejoined.len(), 10);
    }

    #[test]
    fn an_oversized_turn_is_cut_between_sentences() {
        let text = "One sentence here. ".repeat(20);
        let turns = [Turn::new(Some("B"), text)];
        let chunks = chunks(&turns, 20);
        assert!(chunks.len() > 1);
        assert!(
            chunks
                .iter()
                .all(|c| c.starts_with("B: One sentence here.")),
            "{chunks:?}"
        );
    }
}
