//! Tokens: the unit every later step works on.
//!
//! A recognizer word becomes one token per Latin-script word and one token
//! per Han character, so that "那个" from one recognizer and "那" "个" from
//! another look the same, and so that rules can match Chinese fillers inside
//! words the recognizer glued together. Punctuation stays attached to the
//! token it follows.

use crate::input::RawWord;

/// Characters that end a sentence.
pub(crate) const TERMINALS: &[char] = &['.', '?', '!', '。', '？', '！', '…'];

/// One token of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// Surface text, punctuation included.
    pub(crate) text: String,
    /// Lowercased text without surrounding punctuation, for matching.
    pub(crate) core: String,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    /// Silence before this token, in milliseconds: from the previous
    /// token's end at first, and after cleanup the longest silence since the
    /// previous kept token (a removed "um" in a pause does not shorten it).
    pub(crate) pause_before_ms: u64,
    pub(crate) confidence: Option<f32>,
    /// Normalized speaker label.
    pub(crate) speaker: String,
    /// Index of the recognizer word this token came from.
    pub(crate) source: usize,
    /// Why the cleanup removed it, if it did.
    pub(crate) removed: Option<Removal>,
}

/// Why a token was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removal {
    /// A filler: the entry it matched, and whether this token starts the
    /// occurrence (a phrase like "那个" spans several tokens, counted once).
    Filler { entry: String, first: bool },
    /// A repetition or a cut-off start of the next word.
    Repeat,
}

impl Token {
    pub(crate) fn is_han(&self) -> bool {
        self.core.chars().next().is_some_and(is_han)
    }

    pub(crate) fn is_kept(&self) -> bool {
        self.removed.is_none()
    }

    /// Whether the surface text ends in punctuation (a comma, a full stop).
    pub(crate) fn ends_with_punctuation(&self) -> bool {
        self.text.chars().last().is_some_and(|c| !is_word_char(c))
    }

    pub(crate) fn ends_sentence(&self) -> bool {
        let trimmed = self
            .text
            .trim_end_matches(['"', '\'', ')', '”', '’', '」', '）']);
        trimmed.ends_with(TERMINALS)
    }
}

/// Han ideographs (CJK unified ideographs and their extensions, plus the
/// compatibility block).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// CJK punctuation and full-width forms, written without spaces around them.
pub(crate) fn is_cjk_punctuation(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF5B..=0xFF65)
        || c == '…'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Lowercased text with leading and trailing punctuation stripped; inner
/// apostrophes and hyphens stay ("don't", "follow-up").
pub(crate) fn core_of(text: &str) -> String {
    text.trim_matches(|c: char| !is_word_char(c))
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == '’' { '\'' } else { c })
        .collect()
}

/// Split one recognizer word into token texts: Latin runs stay whole, each
/// Han character stands alone, punctuation sticks to what it follows.
pub(crate) fn split_word(text: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for chunk in text.split_whitespace() {
        let mut current = String::new();
        for c in chunk.chars() {
            let has_word = current.chars().any(is_word_char);
            let current_is_han = current.chars().any(is_han);
            let starts_new = if is_han(c) {
                has_word
            } else {
                is_word_char(c) && current_is_han
            };
            if starts_new {
                pieces.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            pieces.push(current);
        }
    }
    pieces
}

/// Tokenize recognizer words, giving each piece its share of the word's
/// time span and attaching punctuation-only pieces to their neighbour.
pub(crate) fn tokenize(words: &[RawWord], speakers: &[String]) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::with_capacity(words.len());
    let mut pending = String::new();
    for (source, word) in words.iter().enumerate() {
        let pieces = split_word(&word.text);
        let total: u64 = pieces.iter().map(|p| p.chars().count() as u64).sum();
        let span = word.end_ms.saturating_sub(word.start_ms);
        let mut done = 0;
        for piece in pieces {
            let len = piece.chars().count() as u64;
            let start_ms = word.start_ms + span * done / total.max(1);
            done += len;
            let end_ms = word.start_ms + span * done / total.max(1);
            if !piece.chars().any(is_word_char) {
                match tokens.last_mut() {
                    Some(last) if last.speaker == speakers[source] => last.text.push_str(&piece),
                    _ => pending.push_str(&piece),
                }
                continue;
            }
            let text = std::mem::take(&mut pending) + &piece;
            let pause_before_ms = tokens
                .last()
                .map_or(0, |prev| start_ms.saturating_sub(prev.end_ms));
            tokens.push(Token {
                core: core_of(&text),
                text,
                start_ms,
                end_ms,
                pause_before_ms,
                confidence: word.confidence,
                speaker: speakers[source].clone(),
                source,
                removed: None,
            });
        }
    }
    tokens
}

/// Join token texts the way each script is written: spaces between Latin
/// words, none between Han characters or around CJK punctuation.
pub(crate) fn join<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in texts {
        let glue = match (out.chars().last(), text.chars().next()) {
            (None, _) => false,
            (Some(prev), Some(next)) => {
                !(is_cjk_punctuation(prev)
                    || is_cjk_punctuation(next)
                    || is_han(prev) && is_han(next))
            }
            (Some(_), None) => false,
        };
        if glue {
            out.push(' ');
        }
        out.push_str(text);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(text: &str, start_ms: u64, end_ms: u64) -> RawWord {
        RawWord {
            text: text.into(),
            start_ms,
            end_ms,
            confidence: None,
            speaker: None,
        }
    }

    #[test]
    fn han_characters_split_and_keep_their_punctuation() {
        assert_eq!(split_word("那个，我们"), vec!["那", "个，", "我", "们"]);
        assert_eq!(split_word("用React做"), vec!["用", "React", "做"]);
        assert_eq!(split_word("“好的”"), vec!["“好", "的”"]);
        assert_eq!(split_word("don't,"), vec!["don't,"]);
    }

    #[test]
    fn core_strips_outer_punctuation_and_case() {
        assert_eq!(core_of("Um,"), "um");
        assert_eq!(core_of("“Don’t"), "don't");
        assert_eq!(core_of("follow-up."), "follow-up");
    }

    #[test]
    fn pieces_share_their_word_time_span() {
        let speakers = vec!["S1".to_owned()];
        let tokens = tokenize(&[raw("我们", 1000, 1400)], &speakers);
        let spans: Vec<_> = tokens.iter().map(|t| (t.start_ms, t.end_ms)).collect();
        assert_eq!(spans, vec![(1000, 1200), (1200, 1400)]);
    }

    #[test]
    fn punctuation_only_words_attach_to_the_previous_token() {
        let speakers = vec!["S1".to_owned(); 3];
        let words = [raw("so", 0, 100), raw(",", 100, 100), raw("yes", 100, 200)];
        let tokens = tokenize(&words, &speakers);
        assert_eq!(tokens[0].text, "so,");
        assert_eq!(tokens.len(), 2);
    }

    #[test]
    fn joining_spaces_latin_but_not_han() {
        assert_eq!(join(["我们", "下周", "ship", "吧。"]), "我们下周 ship 吧。");
        assert_eq!(join(["好的，", "React", "可以"]), "好的，React 可以");
        assert_eq!(join(["Yes,", "we", "can."]), "Yes, we can.");
    }
}
