//! What a summarizer produces and the function stores in `summaries.content`.

use serde::{Deserialize, Serialize};

/// A meeting summary, the same shape whichever engine wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Prose summary, within the configured word budget.
    pub summary: String,
    /// The few points a reader should not miss.
    pub key_points: Vec<String>,
    /// What the meeting decided, one statement each.
    pub decisions: Vec<String>,
    /// Who does what, by when.
    pub action_items: Vec<ActionItem>,
    /// The engine that wrote it (`local-extractive/1`, `gemini/<model>`).
    pub engine: String,
    /// Words in `summary` as [`count_words`] counts them.
    pub words: usize,
}

/// One follow-up task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// Who does it, when the meeting said so.
    pub owner: Option<String>,
    /// What is to be done, as a verb phrase.
    pub task: String,
    /// When, as said in the meeting ("by Friday", "下週三前").
    pub due: Option<String>,
}

/// Words in `text`: whitespace-separated tokens holding a letter or digit,
/// except that every Han character counts as one word of its own (Chinese
/// is written without spaces, and a character is the unit a reader counts).
pub fn count_words(text: &str) -> usize {
    text.split_whitespace().map(token_words).sum()
}

fn token_words(token: &str) -> usize {
    let han = token.chars().filter(|c| is_han(*c)).count();
    let other = token.chars().any(|c| c.is_alphanumeric() && !is_han(c));
    han + usize::from(other)
}

/// Whether `c` is a CJK unified ideograph (the scripts of Chinese).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_are_whitespace_tokens_with_letters() {
        assert_eq!(count_words("We'll ship it - on Tuesday."), 5);
    }

    #[test]
    fn han_characters_count_one_word_each() {
        assert_eq!(count_words("我們決定用 Rust"), 6);
    }
}
