//! Sentence casing and end punctuation, for recognizers (or settings) that
//! leave them out, and for sentences whose first word was a filler.

use crate::token::{TERMINALS, Token};

/// Soft punctuation that a sentence end replaces.
const SOFT_ENDINGS: &[char] = &[',', ';', ':', '-', '—', '，', '；', '：', '、'];

/// English first-person forms written with a capital I.
const FIRST_PERSON: &[&str] = &["i", "i'm", "i've", "i'll", "i'd"];

/// How to punctuate one turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Whether the recognizer punctuated the transcript; if not, pauses
    /// inside a turn end sentences.
    pub(crate) punctuated: bool,
    /// Pause that ends a sentence in unpunctuated output, in milliseconds.
    pub(crate) sentence_pause_ms: u64,
    /// Whether Latin words are English (for "i" -> "I").
    pub(crate) english: bool,
}

/// Punctuate and case the tokens of one turn in place.
pub(crate) fn punctuate(turn: &mut [Token], style: Style) {
    if !style.punctuated {
        for i in 1..turn.len() {
            if turn[i].pause_before_ms >= style.sentence_pause_ms {
                end_sentence(&mut turn[i - 1]);
            }
        }
    }
    if let Some(last) = turn.last_mut() {
        end_sentence(last);
    }
    capitalize(turn, style.english);
}

/// Make `token` end a sentence, unless it already does.
fn end_sentence(token: &mut Token) {
    if token.ends_sentence() {
        return;
    }
    let han = token.is_han();
    let kept = token.text.trim_end_matches(SOFT_ENDINGS).len();
    token.text.truncate(kept);
    token.text.push(if han { '。' } else { '.' });
}

fn capitalize(turn: &mut [Token], english: bool) {
    let mut sentence_start = true;
    for token in turn.iter_mut() {
        if !token.is_han() {
            if sentence_start {
                upper_first(&mut token.text);
            }
            if english && FIRST_PERSON.contains(&token.core.as_str()) {
                upper_first(&mut token.text);
            }
        }
        sentence_start = token.ends_sentence() || token.text.ends_with(TERMINALS);
    }
}

/// Uppercase the first letter of an all-lowercase word; words with a
/// capital anywhere ("iPhone", "eBay") or a digit ("v1", "x86") are left
/// alone, since they are names that happen to start a sentence.
fn upper_first(text: &mut String) {
    if text.chars().any(|c| c.is_uppercase() || c.is_ascii_digit()) {
        return;
    }
    let Some((at, first)) = text.char_indices().find(|(_, c)| c.is_alphabetic()) else {
        return;
    };
    let upper: String = first.to_uppercase().collect();
    text.replace_range(at..at + first.len_utf8(), &upper);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::input::RawWord;
    use crate::token::{join, tokenize};

    fn turn(words: &[(&str, u64, u64)]) -> Vec<Token> {
        let raw: Vec<RawWord> = words
            .iter()
            .map(|(text, start_ms, end_ms)| RawWord {
                text: (*text).into(),
                start_ms: *start_ms,
                end_ms: *end_ms,
                confidence: None,
                speaker: None,
            })
            .collect();
        tokenize(&raw, &vec!["S1".to_owned(); raw.len()])
    }

    fn text(tokens: &[Token]) -> String {
        join(tokens.iter().map(|t| t.text.as_str()))
    }

    const PLAIN: Style = Style {
        punctuated: false,
        sentence_pause_ms: 1000,
        english: true,
    };

    #[test]
    fn unpunctuated_turns_get_sentences_at_pauses() {
        let mut t = turn(&[
            ("so", 0, 200),
            ("i", 200, 400),
            ("agree", 400, 700),
            ("let's", 2000, 2300),
            ("ship", 2300, 2600),
        ]);
        punctuate(&mut t, PLAIN);
        assert_eq!(text(&t), "So I agree. Let's ship.");
    }

    #[test]
    fn punctuated_turns_only_gain_a_final_stop_and_casing() {
        let mut t = turn(&[("so,", 0, 200), ("we", 2000, 2200), ("ship,", 2200, 2400)]);
        punctuate(
            &mut t,
            Style {
                punctuated: true,
                ..PLAIN
            },
        );
        assert_eq!(text(&t), "So, we ship.");
    }

    #[test]
    fn chinese_turns_end_with_a_chinese_full_stop() {
        let mut t = turn(&[("我们", 0, 400), ("下周", 400, 800), ("上线，", 800, 1200)]);
        punctuate(&mut t, PLAIN);
        assert_eq!(text(&t), "我们下周上线。");
    }

    #[test]
    fn mixed_case_words_are_not_recased() {
        let mut t = turn(&[("iPhone", 0, 200), ("sync", 200, 400), ("works", 400, 600)]);
        punctuate(&mut t, PLAIN);
        assert_eq!(text(&t), "iPhone sync works.");
    }
}
